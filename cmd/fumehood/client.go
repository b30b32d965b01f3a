package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/api"
	"github.com/fumehood/fumehood/api/ui"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/store"
)

// clientOpts are the flags of the commands that talk to a farm.
type clientOpts struct {
	server, token string
	poll          time.Duration
}

func (o *clientOpts) register(fs *flag.FlagSet) {
	fs.StringVar(&o.server, "server", envOr("FUMEHOOD_SERVER", "http://127.0.0.1:8080"), "farm API base `URL` (FUMEHOOD_SERVER)")
	// The default is read when used, not shown: usage output never
	// prints the token.
	fs.StringVar(&o.token, "token", "", "API bearer `token` (default $FUMEHOOD_TOKEN)")
	fs.DurationVar(&o.poll, "poll", 2*time.Second, "how often --wait asks for progress")
}

// client speaks to the farm's API.
type client struct {
	base  string
	token string
	http  *http.Client
}

func (o *clientOpts) client() (*client, error) {
	u, err := url.Parse(o.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--server %q is not an http(s) URL", o.server)
	}
	if o.token == "" {
		o.token = os.Getenv("FUMEHOOD_TOKEN")
	}
	if o.token == "" {
		return nil, usagef("no API token: set --token or FUMEHOOD_TOKEN (fumehood token create --role submit --name NAME)")
	}
	return &client{base: strings.TrimRight(o.server, "/"), token: o.token, http: &http.Client{Timeout: 5 * time.Minute}}, nil
}

// apiError is an error answer of the API.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.status, e.code, e.message)
}

// maxUnreachable bounds how long --wait keeps polling a farm that does not
// answer (a restart of serve) before it gives up.
const maxUnreachable = 10 * time.Minute

// poll GETs path into out like do, but rides out a farm that is down or
// restarting: connection errors and 5xx answers are retried every
// interval, for up to maxUnreachable, saying so once on stderr.
func (c *client) poll(ctx context.Context, e *env, path string, out any, interval time.Duration) error {
	var since time.Time
	for {
		err := c.do(ctx, http.MethodGet, path, "", nil, out)
		var ae *apiError
		if err == nil || ctx.Err() != nil || errors.As(err, &ae) && ae.status < 500 {
			return err
		}
		if since.IsZero() {
			since = time.Now()
			fmt.Fprintf(e.stderr, "farm not answering (%v); retrying for up to %v\n", err, maxUnreachable)
		} else if time.Since(since) > maxUnreachable {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// do sends a request and decodes the JSON answer into out. An error
// answer comes back as an *apiError: the caller's mistakes (4xx) exit 3,
// the rest 4 (errorCode).
func (c *client) do(ctx context.Context, method, path, ctype string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("farm API: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("farm API: %w", err)
	}
	if resp.StatusCode >= 300 {
		var eb struct {
			Error struct{ Code, Message string }
		}
		ae := &apiError{status: resp.StatusCode, code: "http", message: strings.TrimSpace(string(b))}
		if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
			ae.code, ae.message = eb.Error.Code, eb.Error.Message
		}
		return ae
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("farm API: decode answer: %w", err)
		}
	}
	return nil
}

func (c *client) postJSON(ctx context.Context, path string, v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, path, "application/json", bytes.NewReader(b), out)
}

// postFile uploads file as multipart field field, with extra fields.
func (c *client) postFile(ctx context.Context, path, field, file string, fields map[string]string, out any) error {
	f, err := os.Open(file)
	if err != nil {
		return usagef("%v", err)
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for k, v := range fields {
				if err := mw.WriteField(k, v); err != nil {
					return err
				}
			}
			fw, err := mw.CreateFormFile(field, filepath.Base(file))
			if err != nil {
				return err
			}
			if _, err := io.Copy(fw, f); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	err = c.do(ctx, http.MethodPost, path, mw.FormDataContentType(), pr, out)
	pr.Close()
	return err
}

// isLockfile reports whether a file is a lockfile the farm fans out.
func isLockfile(path string) bool {
	b := filepath.Base(path)
	return b == "package-lock.json" || b == "npm-shrinkwrap.json" ||
		(strings.HasPrefix(b, "requirements") && strings.HasSuffix(b, ".txt"))
}

func cmdSubmit(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags(e, "submit")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fumehood submit [flags] npm:NAME@VERSION | pypi:NAME==VERSION | FILE.tgz|.whl|.tar.gz | package-lock.json|npm-shrinkwrap.json|requirements.txt")
		fs.PrintDefaults()
	}
	var o clientOpts
	o.register(fs)
	wait := fs.Bool("wait", false, "wait for the result; exit with the verdict code (the worst one for a lockfile)")
	force := fs.Bool("force", false, "analyse again even if this version was analysed with these rules")
	webhook := fs.String("webhook", "", "`URL` to notify when an analysis ends suspicious or malicious")
	eco := fs.String("ecosystem", "", "ecosystem of an uploaded file (npm or pypi; guessed from the file when empty)")
	if err := parseFlags(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 0, usagef("want exactly one spec, file or lockfile, got %d", fs.NArg())
	}
	arg := fs.Arg(0)
	c, err := o.client()
	if err != nil {
		return 0, err
	}
	boolField := map[bool]string{true: "true", false: "false"}
	switch {
	case strings.HasPrefix(arg, "npm:") || strings.HasPrefix(arg, "pypi:"):
		if _, err := ecosystem.Parse(arg); err != nil {
			return 0, err
		}
		var sr api.SubmitResponse
		if err := c.postJSON(ctx, "/v1/analyses", api.SubmitRequest{Spec: arg, Force: *force, Webhook: *webhook}, &sr); err != nil {
			return 0, err
		}
		return c.followAnalysis(ctx, e, sr, *wait, o.poll)
	case isLockfile(arg):
		fields := map[string]string{"force": boolField[*force]}
		if *webhook != "" {
			fields["webhook"] = *webhook
		}
		var b api.BatchResponse
		if err := c.postFile(ctx, "/v1/batches", "lockfile", arg, fields, &b); err != nil {
			return 0, err
		}
		return c.followBatch(ctx, e, b, *wait, o.poll)
	default:
		st, err := os.Stat(arg)
		if err != nil {
			return 0, usagef("%s is neither a spec (npm:NAME@VERSION, pypi:NAME==VERSION) nor a file: %v", arg, err)
		}
		if st.IsDir() {
			return 0, usagef("%s is a directory: pack it first (npm pack, python -m build --sdist) or use fumehood analyze", arg)
		}
		if *eco == "" {
			t, err := ecosystem.Parse(arg)
			if err != nil {
				return 0, err
			}
			*eco = t.Ecosystem
		}
		fields := map[string]string{"ecosystem": *eco, "force": boolField[*force]}
		if *webhook != "" {
			fields["webhook"] = *webhook
		}
		var sr api.SubmitResponse
		if err := c.postFile(ctx, "/v1/analyses", "artifact", arg, fields, &sr); err != nil {
			return 0, err
		}
		return c.followAnalysis(ctx, e, sr, *wait, o.poll)
	}
}

// followAnalysis prints the id (alone, for scripts) or, with wait, polls
// until the analysis ends and prints its summary.
func (c *client) followAnalysis(ctx context.Context, e *env, sr api.SubmitResponse, wait bool, poll time.Duration) (int, error) {
	if !wait {
		fmt.Fprintln(e.stdout, sr.ID)
		if sr.Existing {
			fmt.Fprintln(e.stderr, "already analysed with these rules; --force analyses it again")
		}
		return 0, nil
	}
	for {
		var rec store.Record
		if err := c.poll(ctx, e, api.StatusURL(sr.ID), &rec, poll); err != nil {
			return 0, err
		}
		switch rec.Status {
		case store.Done:
			printSummary(e.stdout, &rec.Analysis)
			return rec.ExitCode(), nil
		case store.Failed:
			return 0, fmt.Errorf("analysis %s failed: %s: %w", rec.ID, rec.Error, ecosystem.ErrBadArtifact)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// followBatch prints the batch id or, with wait, shows its progress (a bar
// on a terminal, a line per change otherwise) until nothing is pending and
// exits with the worst verdict.
func (c *client) followBatch(ctx context.Context, e *env, b api.BatchResponse, wait bool, poll time.Duration) (int, error) {
	if !wait {
		fmt.Fprintln(e.stdout, b.ID)
		return 0, nil
	}
	fmt.Fprintf(e.stderr, "batch %s: %d analyses\n", b.ID, b.Progress.Total)
	tty := isTerminal(e.stderr)
	last := ""
	for {
		if err := c.poll(ctx, e, "/v1/batches/"+url.PathEscape(b.ID), &b, poll); err != nil {
			return 0, err
		}
		line := progressLine(b.Progress, tty)
		if tty {
			fmt.Fprint(e.stderr, "\r"+line)
		} else if line != last {
			fmt.Fprintln(e.stderr, line)
		}
		last = line
		if b.Progress.Pending == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(poll):
		}
	}
	if tty {
		fmt.Fprintln(e.stderr)
	}
	p := b.Progress
	fmt.Fprintf(e.stdout, "batch %s: %d done, %d failed, %d cancelled; malicious %d, suspicious %d, benign %d\n",
		b.ID, p.Done, p.Failed, p.Cancelled, p.Verdicts[analysis.Malicious], p.Verdicts[analysis.Suspicious], p.Verdicts[analysis.Benign])
	// Members come worst first: name every one that is not a clean pass.
	for _, m := range b.Members {
		state := string(m.Verdict)
		switch {
		case m.Status == store.Failed:
			state = "failed"
		case m.Status != store.Done, m.Verdict == analysis.Benign:
			continue
		}
		fmt.Fprintf(e.stdout, "  %-10s %s:%s@%s  %s  %s\n", state, m.Package.Ecosystem, ui.Plain(m.Package.Name),
			ui.Plain(m.Package.Version), m.ID, ui.Plain(strings.Join(m.Hits, " ")))
	}
	switch {
	case p.Verdicts[analysis.Malicious] > 0:
		return analysis.Malicious.ExitCode(), nil
	case p.Verdicts[analysis.Suspicious] > 0:
		return analysis.Suspicious.ExitCode(), nil
	case p.Failed > 0:
		return 0, fmt.Errorf("%d analyses of batch %s failed", p.Failed, b.ID)
	}
	return 0, nil
}

// progressLine renders a batch's progress, as a bar for a terminal.
func progressLine(p store.Progress, bar bool) string {
	finished := p.Done + p.Failed + p.Cancelled
	counts := fmt.Sprintf("%d/%d  malicious %d  suspicious %d  failed %d", finished, p.Total, p.Verdicts[analysis.Malicious], p.Verdicts[analysis.Suspicious], p.Failed)
	if !bar {
		return counts
	}
	const width = 30
	filled := width
	if p.Total > 0 {
		filled = finished * width / p.Total
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "] " + counts
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func cmdStatus(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags(e, "status")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fumehood status [flags] ID | BATCH_ID\n\nPrints an analysis or a batch; exits with its (worst) verdict's code when done, 0 while queued or running.")
		fs.PrintDefaults()
	}
	var o clientOpts
	o.register(fs)
	asJSON := fs.Bool("json", false, "print the analysis document as JSON")
	wait := fs.Bool("wait", false, "wait until the analysis or batch ends; exit with its (worst) verdict's code")
	if err := parseFlags(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 0, usagef("want exactly one analysis or batch id, got %d", fs.NArg())
	}
	c, err := o.client()
	if err != nil {
		return 0, err
	}
	id := fs.Arg(0)
	get := func(path string, out any) error { // only --wait rides out a restart
		if *wait {
			return c.poll(ctx, e, path, out, o.poll)
		}
		return c.do(ctx, http.MethodGet, path, "", nil, out)
	}
	var rec store.Record
	err = get(api.StatusURL(id), &rec)
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusNotFound {
		// Not an analysis: a batch?
		var b api.BatchResponse
		if berr := get("/v1/batches/"+url.PathEscape(id), &b); berr == nil {
			if !*wait {
				fmt.Fprintln(e.stdout, progressLine(b.Progress, false))
			}
			return c.followBatch(ctx, e, b, *wait || b.Progress.Pending == 0, o.poll)
		}
	}
	if err != nil {
		return 0, err
	}
	if *wait && (rec.Status == store.Queued || rec.Status == store.Running) && !*asJSON {
		return c.followAnalysis(ctx, e, api.SubmitResponse{ID: rec.ID}, true, o.poll)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(&rec); err != nil {
			return 0, err
		}
	}
	switch rec.Status {
	case store.Done:
		if !*asJSON {
			printSummary(e.stdout, &rec.Analysis)
		}
		return rec.ExitCode(), nil
	case store.Failed:
		return 0, fmt.Errorf("analysis %s failed: %s: %w", rec.ID, rec.Error, ecosystem.ErrBadArtifact)
	}
	if !*asJSON {
		fmt.Fprintf(e.stdout, "%s %s (submitted %s, attempts %d)\n", rec.ID, rec.Status, rec.Submitted.Format(time.RFC3339), rec.Attempts)
	}
	return 0, nil
}

func cmdRejudge(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags(e, "rejudge")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fumehood rejudge [flags] [KEY=VALUE ...]\n\nRe-judges the stored analyses the query selects with the farm's current rules (no sandbox);\nkeys: ecosystem, name, verdict, rule, status, since (RFC 3339, YYYY-MM-DD or a duration like 24h).\nNo query selects every analysis. Needs an admin token.")
		fs.PrintDefaults()
	}
	var o clientOpts
	o.register(fs)
	rerun := fs.Bool("rerun", false, "detonate the selected packages again instead of re-judging their traces")
	wait := fs.Bool("wait", false, "follow the batch until it ends")
	if err := parseFlags(fs, args); err != nil {
		return 0, err
	}
	q, err := rejudgeQuery(fs.Args())
	if err != nil {
		return 0, err
	}
	c, err := o.client()
	if err != nil {
		return 0, err
	}
	req := api.BatchCreateRequest{Rejudge: &q}
	if *rerun {
		req = api.BatchCreateRequest{Rerun: &q}
	}
	var b api.BatchResponse
	if err := c.postJSON(ctx, "/v1/batches", req, &b); err != nil {
		return 0, err
	}
	return c.followBatch(ctx, e, b, *wait, o.poll)
}

// rejudgeQuery reads KEY=VALUE pairs into a selection (no limit, no
// cursor).
func rejudgeQuery(pairs []string) (store.Query, error) {
	v := url.Values{}
	for _, p := range pairs {
		k, val, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return store.Query{}, usagef("query term %q is not KEY=VALUE", p)
		}
		if k == "limit" || k == "cursor" {
			return store.Query{}, usagef("query key %s does not apply to a re-judge", k)
		}
		if k == "since" {
			t, err := api.ParseSince(val, time.Now())
			if err != nil {
				return store.Query{}, usagef("%v", err)
			}
			val = t.UTC().Format(time.RFC3339Nano)
		}
		v.Add(k, val)
	}
	q, err := api.ParseQuery(v.Encode())
	if err != nil {
		return store.Query{}, usagef("%v", err)
	}
	q.Limit = 0
	return q, nil
}
