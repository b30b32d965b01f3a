package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/api"
	"github.com/fumehood/fumehood/api/ui"
	"github.com/fumehood/fumehood/ecosystem"
)

func cmdDiff(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags(e, "diff")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fumehood diff [flags] ID ID | npm:NAME@V1 npm:NAME@V2 | pypi:NAME==V1 pypi:NAME==V2\n\nPrints how the second analysis behaves differently from the first (rules hit, processes,\nnetwork, files written, install scripts), compared on normalised behaviour.")
		fs.PrintDefaults()
	}
	var o clientOpts
	o.register(fs)
	asJSON := fs.Bool("json", false, "print the changes as JSON")
	if err := parseFlags(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 0, usagef("want two analysis ids or two versions of one package, got %d arguments", fs.NArg())
	}
	q, err := diffQuery(fs.Arg(0), fs.Arg(1))
	if err != nil {
		return 0, err
	}
	c, err := o.client()
	if err != nil {
		return 0, err
	}
	var ch analysis.Changes
	if err := c.do(ctx, http.MethodGet, "/v1/diff?"+q.Encode(), "", nil, &ch); err != nil {
		return 0, err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return 0, enc.Encode(ch)
	}
	printChanges(e.stdout, ch)
	return 0, nil
}

// diffQuery makes the query of GET /v1/diff from two ids or two specs of
// one package.
func diffQuery(a, b string) (url.Values, error) {
	isSpec := func(s string) bool { return strings.HasPrefix(s, "npm:") || strings.HasPrefix(s, "pypi:") }
	switch {
	case !isSpec(a) && !isSpec(b):
		return url.Values{"from": {a}, "to": {b}}, nil
	case isSpec(a) && isSpec(b):
		ta, err := ecosystem.Parse(a)
		if err != nil {
			return nil, err
		}
		tb, err := ecosystem.Parse(b)
		if err != nil {
			return nil, err
		}
		if ta.Ecosystem != tb.Ecosystem || ecosystem.CanonicalName(ta.Ecosystem, ta.Name) != ecosystem.CanonicalName(tb.Ecosystem, tb.Name) {
			return nil, usagef("%s and %s are not versions of one package", a, b)
		}
		return url.Values{"ecosystem": {ta.Ecosystem}, "name": {ta.Name}, "from": {ta.Version}, "to": {tb.Version}}, nil
	}
	return nil, usagef("give two analysis ids or two versions of one package, not one of each")
}

// printChanges writes the changes for a person: one line per fact, + for
// added, - for removed, ~ for a changed script, ? for a script whose
// files could not be compared (which is no change); control characters
// of package data are escaped, never sent to the terminal.
func printChanges(w io.Writer, c analysis.Changes) {
	fmt.Fprintf(w, "from %s to %s\n", c.From, c.To)
	if c.Empty() {
		fmt.Fprintln(w, "same behaviour")
	}
	for _, s := range []struct {
		what string
		c    analysis.Change
	}{{"rules hit", c.Hits}, {"processes", c.Processes}, {"network", c.Network}, {"files written", c.Files}} {
		if len(s.c.Added)+len(s.c.Removed) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s:\n", s.what)
		for _, x := range s.c.Added {
			fmt.Fprintf(w, "  + %s\n", ui.Plain(x))
		}
		for _, x := range s.c.Removed {
			fmt.Fprintf(w, "  - %s\n", ui.Plain(x))
		}
	}
	if len(c.Scripts.Added)+len(c.Scripts.Removed)+len(c.Scripts.Changed)+len(c.Scripts.Uncompared) > 0 {
		fmt.Fprintln(w, "install scripts:")
		for _, x := range c.Scripts.Added {
			fmt.Fprintf(w, "  + %s\n", ui.Plain(x))
		}
		for _, x := range c.Scripts.Removed {
			fmt.Fprintf(w, "  - %s\n", ui.Plain(x))
		}
		for _, x := range c.Scripts.Changed {
			fmt.Fprintf(w, "  ~ %s\n", ui.Plain(x))
		}
		for _, x := range c.Scripts.Uncompared {
			fmt.Fprintf(w, "  ? %s\n", ui.Plain(x))
		}
	}
}

func cmdReport(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags(e, "report")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fumehood report [flags] ID --osv\n\nPrints the OSV record of a malicious or suspicious analysis (the form of the OpenSSF\nmalicious-packages database); a benign analysis has none.")
		fs.PrintDefaults()
	}
	var o clientOpts
	o.register(fs)
	asOSV := fs.Bool("osv", false, "print the analysis as an OSV record")
	if err := parseFlags(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() != 1 || !*asOSV {
		fs.Usage()
		return 0, usagef("want one analysis id and --osv")
	}
	c, err := o.client()
	if err != nil {
		return 0, err
	}
	var rec json.RawMessage
	if err := c.do(ctx, http.MethodGet, api.StatusURL(fs.Arg(0))+"/osv", "", nil, &rec); err != nil {
		return 0, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, rec, "", "  "); err != nil {
		return 0, err
	}
	out.WriteByte('\n')
	_, err = e.stdout.Write(out.Bytes())
	return 0, err
}
