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

// Key identifies one piece of work for de-duplication: the same key is not
// analysed twice unless forced. Digest is empty for registry specs until
// the artifact is fetched.
type Key struct {
	Ecosystem, Name, Version, Digest, Rules string
}

// Record is an analysis as stored: the analysis document plus its life.
type Record struct {
	analysis.Analysis
	Status      Status    `json:"status"`
	Error       string    `json:"error,omitempty"`
	Spec        string    `json:"spec,omitempty"`     // what was submitted: a spec, or "upload:<file name>"
	Artifact    string    `json:"-"`                  // blob digest of an uploaded artifact
	TraceDigest string    `json:"-"`                  // blob digest of the trace (JSONL, compressed)
	BatchID     string    `json:"batch_id,omitempty"` // the batch it belongs to, if any
	Webhook     string    `json:"-"`                  // URL notified when it ends suspicious or malicious
	Submitted   time.Time `json:"submitted"`
	Updated     time.Time `json:"updated"`
	Attempts    int       `json:"attempts"`
}

// Query selects analyses. Zero fields do not filter.
type Query struct {
	Ecosystem string           `json:"ecosystem,omitempty"`
	Name      string           `json:"name,omitempty"`
	Verdict   analysis.Verdict `json:"verdict,omitempty"`
	Rule      string           `json:"rule,omitempty"` // analyses with a hit of this rule
	Status    Status           `json:"status,omitempty"`
	Since     time.Time        `json:"since,omitempty"` // submitted at or after
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

// Store is the database of analyses, batches and tokens.
type Store interface {
	// Create stores a new queued record. ErrExists if its ID exists.
	Create(ctx context.Context, r *Record) error
	// FindOrCreate returns the newest record with key k that is not
	// failed (existing true) or, when there is none, creates r (as Create)
	// and returns it. Find and create are atomic: simultaneous calls with
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
	// Versions returns every analysed version of a package, newest first.
	Versions(ctx context.Context, ecosystem, name string) ([]*Record, error)

	CreateBatch(ctx context.Context, b *Batch, items []string) error
	GetBatch(ctx context.Context, id string) (*Batch, Progress, error)
	// CancelBatch marks a batch cancelled and its queued items failed
	// ("cancelled"); it returns the ids it cancelled.
	CancelBatch(ctx context.Context, id string) ([]string, error)

	// CreateToken stores a token's hash (never the token) with its role.
	CreateToken(ctx context.Context, hash []byte, role Role, name string) error
	// TokenRole returns the role of the token with this hash.
	TokenRole(ctx context.Context, hash []byte) (Role, error)

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
