// Package download fetches registry documents and artifacts over HTTP with
// size limits, writing artifacts only to the file it is given.
package download
