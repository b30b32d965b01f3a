package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
)

// A List cursor is the position of the last record of a page, the keyset
// (submitted, seq), bound to the filters of the query that made it and
// signed with a key kept in the database:
//
//	base64url( version:1 | submitted:8 | seq:8 | filters:8 | hmac:16 )
//
// where filters is the head of sha256 over the query's filters (not its
// limit, which may change between pages) and hmac the head of
// HMAC-SHA256(key, everything before it). A cursor that does not decode to
// exactly this, is signed with another key, or is used with other filters
// is ErrCursor. Cursors stay valid across restarts and between processes
// that share the database.
const (
	cursorVersion = 1
	cursorMACLen  = 16
	cursorLen     = 1 + 8 + 8 + 8 + cursorMACLen
)

// cursorSigner makes and checks cursors with one key.
type cursorSigner struct {
	key []byte
}

// position is a keyset position: the page after it holds records that sort
// strictly after it, newest first.
type position struct {
	submitted int64
	seq       int64
}

func (c cursorSigner) encode(q Query, p position) string {
	b := make([]byte, 0, cursorLen)
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(p.submitted))
	b = binary.BigEndian.AppendUint64(b, uint64(p.seq))
	b = append(b, filterHash(q)...)
	b = append(b, c.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (c cursorSigner) decode(q Query) (position, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(q.Cursor)
	if err != nil || len(b) != cursorLen || b[0] != cursorVersion {
		return position{}, ErrCursor
	}
	body, mac := b[:cursorLen-cursorMACLen], b[cursorLen-cursorMACLen:]
	if !hmac.Equal(mac, c.mac(body)) {
		return position{}, ErrCursor
	}
	if !hmac.Equal(body[17:25], filterHash(q)) {
		return position{}, ErrCursor
	}
	return position{
		submitted: int64(binary.BigEndian.Uint64(body[1:9])),
		seq:       int64(binary.BigEndian.Uint64(body[9:17])),
	}, nil
}

func (c cursorSigner) mac(b []byte) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write(b)
	return h.Sum(nil)[:cursorMACLen]
}

// filterHash is the head of sha256 over q's filters.
func filterHash(q Query) []byte {
	var since string
	if !q.Since.IsZero() {
		since = strconv.FormatInt(q.Since.UnixNano(), 10)
	}
	return fieldsHash(q.Ecosystem, q.Name, string(q.Verdict), q.Rule, string(q.Status), since, q.Batch)[:8]
}

// fieldsHash is sha256 over fields, each length-prefixed so that no two
// different lists share an input.
func fieldsHash(fields ...string) []byte {
	h := sha256.New()
	for _, f := range fields {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}
