package store

import "errors"

// Errors of the implementations in this package, beside those of the
// interface in store.go.
var (
	// ErrCorrupt is returned while reading a blob whose bytes no longer
	// match its digest.
	ErrCorrupt = errors.New("blob corrupt")
	// ErrDigest is a digest that is not "sha256:" and 64 lowercase hex
	// digits.
	ErrDigest = errors.New("invalid digest")
	// ErrSchema is a database whose schema this binary does not know.
	ErrSchema = errors.New("unknown schema version")
	// ErrDSN is a store address Open does not understand.
	ErrDSN = errors.New("unsupported store address")
)
