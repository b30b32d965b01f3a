package store

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/fumehood/fumehood/analysis"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrCursor   = errors.New("invalid cursor")
)

// Status is where an analysis is in its life.
type Status string

// Statuses.
const (
	Queued  Status = "queued"
	Running Status = "running"
	Done    Status = "done"
	Failed  Status = "failed" // the analysis could not run (bad artifact, ...); Error says why
)

// Source is where an analysed artifact came from. Records of the two
// sources are kept apart: an upload never stands for a registry version,
// whatever name and version its manifest claims.
type Source string

// Sources.
const (
	// FromRegistry is the ecosystem's registry: fetched by a worker, or
	// handed over by the registry firewall that fetched it (proxy). The
	// zero Source is this one.
	FromRegistry Source = "registry"
	// FromUpload is an artifact a token uploaded.
	FromUpload Source = "upload"
)

// Key identifies one piece of work for de-duplication: the same key is not
// analysed twice unless forced. Digest is empty for registry specs until
// the artifact is fetched; an empty Source is FromRegistry.
type Key struct {
	Ecosystem, Name, Version, Digest, Rules string
	Source                                  Source
}

// Record is an analysis as stored: the analysis document plus its life.
type Record struct {
	analysis.Analysis
	Status     Status `json:"status"`
	Error      string `json:"error,omitempty"`
	Spec       string `json:"spec,omitempty"`        // what was submitted: a spec, or "upload:<file name>"
	Source     Source `json:"source"`                // where the artifact came from ("" is stored as FromRegistry)
	UploadedBy string `json:"uploaded_by,omitempty"` // the name of the token that uploaded it
	// ClaimsRegistry marks an upload whose ecosystem, name and version
	// are those of a registry record the farm holds. The store sets it
	// when reading; it is never stored.
	ClaimsRegistry bool      `json:"claims_registry,omitempty"`
	Artifact       string    `json:"-"`                  // blob digest of an uploaded artifact
	TraceDigest    string    `json:"-"`                  // blob digest of the trace (trace.EncodeBinary, or JSONL before it; compressed)
	BatchID        string    `json:"batch_id,omitempty"` // the batch it belongs to, if any
	Webhook        string    `json:"-"`                  // URL notified when it ends suspicious or malicious
	Submitted      time.Time `json:"submitted"`
	Updated        time.Time `json:"updated"`
	Attempts       int       `json:"attempts"`
}

// Query selects analyses. Zero fields do not filter.
type Query struct {
	Ecosystem string           `json:"ecosystem,omitempty"`
	Name      string           `json:"name,omitempty"`
	Verdict   analysis.Verdict `json:"verdict,omitempty"`
	Rule      string           `json:"rule,omitempty"` // analyses with a hit of this rule
	Status    Status           `json:"status,omitempty"`
	Since     time.Time        `json:"since,omitempty"` // submitted at or after
	Batch     string           `json:"batch,omitempty"` // the items of this batch
	Limit     int              `json:"limit,omitempty"` // page size; 0 = 50, at most 1000
	Cursor    string           `json:"cursor,omitempty"`
}

// Batch is a fan-out of many analyses.
type Batch struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"` // lockfile, specs, rejudge, rerun
	Source    string    `json:"source,omitempty"`
	Webhook   string    `json:"-"`
	Created   time.Time `json:"created"`
	Cancelled bool      `json:"cancelled"`
}

// Progress counts a batch's items.
type Progress struct {
	Total     int                      `json:"total"`
	Done      int                      `json:"done"`
	Failed    int                      `json:"failed"`
	Pending   int                      `json:"pending"`
	Cancelled int                      `json:"cancelled"`
	Verdicts  map[analysis.Verdict]int `json:"verdicts"`
}

// Role is what a token may do: read < submit < admin.
type Role string

// Roles.
const (
	RoleRead   Role = "read"
	RoleSubmit Role = "submit"
	RoleAdmin  Role = "admin"
)

// Token describes an API token: who it is (its name and role) and when it
// was made; its secret is never stored.
type Token struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Created time.Time `json:"created"`
}

// Store is the database of analyses, batches and tokens.
type Store interface {
	// Create stores a new queued record. ErrExists if its ID exists.
	Create(ctx context.Context, r *Record) error
	// FindOrCreate returns the newest record with key k that is not
	// failed (existing true) or, when there is none, creates r (as Create)
	// and returns it. Records of another source than k's never match. Find and create are atomic: simultaneous calls with
	// one key, from any number of processes, create one record.
	FindOrCreate(ctx context.Context, k Key, r *Record) (_ *Record, existing bool, _ error)
	Get(ctx context.Context, id string) (*Record, error)
	// Start marks a record running and counts the attempt.
	Start(ctx context.Context, id string) error
	// Complete stores the finished analysis (verdict, hits, phases, trace
	// digest) and marks it done. Completing a done record again replaces
	// it: a retried task leaves one record.
	Complete(ctx context.Context, a *analysis.Analysis, traceDigest string) error
	// Fail marks a record failed with a reason.
	Fail(ctx context.Context, id, reason string) error
	// Rejudge replaces verdict, score, hits and rules version.
	Rejudge(ctx context.Context, id string, verdict analysis.Verdict, score int, hits []analysis.Hit, rules string) error
	// List returns a page of records, newest first, and the cursor of the
	// next page ("" at the end). A cursor not made by List is ErrCursor.
	List(ctx context.Context, q Query) ([]*Record, string, error)
	// Versions returns every analysed version of a package, newest first:
	// per version its registry record and, apart, each uploaded artifact
	// claiming that version.
	Versions(ctx context.Context, ecosystem, name string) ([]*Record, error)

	CreateBatch(ctx context.Context, b *Batch, items []string) error
	GetBatch(ctx context.Context, id string) (*Batch, Progress, error)
	// CancelBatch marks a batch cancelled and its queued items failed
	// ("cancelled"); it returns the ids it cancelled.
	CancelBatch(ctx context.Context, id string) ([]string, error)

	// CreateToken stores a token's hash (never the token) with its role
	// and name; ErrExists when the hash, or a name other than "", is
	// taken.
	CreateToken(ctx context.Context, hash []byte, role Role, name string) error
	// Token returns the name and role of the token with this hash.
	Token(ctx context.Context, hash []byte) (Token, error)
	// Tokens lists the tokens (never their hashes), oldest first.
	Tokens(ctx context.Context) ([]Token, error)
	// RevokeToken deletes the tokens named name; ErrNotFound when there
	// is none.
	RevokeToken(ctx context.Context, name string) error

	// Secret returns the random 32-byte key stored under name, made the
	// first time it is asked for: every process sharing the store signs
	// with the same keys (cursors, browser sessions), across restarts.
	Secret(ctx context.Context, name string) ([]byte, error)

	Close() error
}

// Blobs is a content-addressed store of byte streams.
type Blobs interface {
	// Put stores r and returns its digest, "sha256:<hex>" of the bytes
	// as given (the store may compress them).
	Put(ctx context.Context, r io.Reader) (digest string, err error)
	// Get returns the bytes stored under digest, as given to Put.
	Get(ctx context.Context, digest string) (io.ReadCloser, error)
}
