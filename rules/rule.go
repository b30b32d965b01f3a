package rules

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/trace"
)

//go:embed builtin
var builtinFS embed.FS

// ErrInvalid is wrapped by every error Load returns for a malformed rule
// file or rule.
var ErrInvalid = errors.New("invalid rule")

// Rule describes one rule of a Set.
type Rule struct {
	ID          string            `json:"id"`
	Description string            `json:"description"`
	Severity    analysis.Severity `json:"severity"`
	Technique   string            `json:"technique,omitempty"` // MITRE ATT&CK id
	Rationale   string            `json:"rationale"`
	// Egress marks a rule whose hits are network attempts; the verdict
	// pairs them with high-severity hits.
	Egress bool `json:"egress,omitempty"`
	// File is the rule file, relative to the loaded file system.
	File string `json:"file"`
}

// Scopes a sequence's later steps must share with its first step.
const (
	ScopeProcess = "process" // the same process
	ScopeLineage = "lineage" // the same process, an ancestor or a descendant
	ScopePhase   = "phase"   // the same phase
	ScopeTrace   = "trace"   // anywhere later in the trace
)

// Set is a compiled rule set. It is immutable and safe for concurrent use.
type Set struct {
	rules   []*compiled
	byKind  map[trace.Kind][]ref
	version string
	// policy decides process roles (writable directories, package
	// manager helpers): the lists of roles.yaml.
	policy trace.Policy
	// runners are the programs (base names) whose first argument that is
	// not an option is a file they run: the list script_runners.
	runners map[string]bool
	// temps are the temporary directories: the items of the list
	// temp_dirs that are not globs.
	temps []string
}

// ref names one matcher of one rule: the rule's index and the step (0 for
// match and count rules). It carries a copy of the flags its prefilter
// requires, so that most events are turned away by the refs of their
// kind alone, which lie together in memory.
type ref struct {
	rule, step int
	mask, want uint32
}

type compiled struct {
	Rule
	// fsys is the file system (layer) the rule's file is in: its fixtures
	// are there.
	fsys   fs.FS
	steps  []*vm.Program // match: one; sequence: one per step; count: one
	pre    []prefilter   // one per step
	kinds  [][]trace.Kind
	within string
	// count rules
	isCount  bool
	group    *vm.Program
	distinct *vm.Program
	min      int
	// match rules
	detail *vm.Program
	// unless is the step index of the unless clause (after the match or
	// the sequence's steps), or 0
	unless int
}

// isSequence reports whether c is a sequence rule.
func (c *compiled) isSequence() bool {
	return !c.isCount && c.chainLen() > 1
}

// chainLen is the number of steps a match completes: a match rule's one,
// a sequence's steps (the unless clause is not one of them).
func (c *compiled) chainLen() int {
	if c.unless > 0 {
		return c.unless
	}
	return len(c.steps)
}

// The YAML form of a rule file.
type fileDoc struct {
	Lists  []listDoc  `yaml:"lists"`
	Macros []macroDoc `yaml:"macros"`
	Rules  []ruleDoc  `yaml:"rules"`
}

type ruleDoc struct {
	ID          string       `yaml:"id"`
	Description string       `yaml:"description"`
	Severity    string       `yaml:"severity"`
	Technique   string       `yaml:"technique"`
	Rationale   string       `yaml:"rationale"`
	Egress      bool         `yaml:"egress"`
	Kinds       []string     `yaml:"kinds"`
	Match       string       `yaml:"match"`
	Sequence    *sequenceDoc `yaml:"sequence"`
	Count       *countDoc    `yaml:"count"`
	// Detail is a string expression evaluated for each evidence event of
	// a match rule and appended to its evidence line.
	Detail string `yaml:"detail"`
	// Unless drops a match rule's evidence events of every process that
	// has, anywhere in the trace, an event matching it; of a sequence
	// rule, the chains whose first step was such a process's.
	Unless *stepDoc `yaml:"unless"`
}

type stepDoc struct {
	Kinds []string `yaml:"kinds"`
	Match string   `yaml:"match"`
}

type sequenceDoc struct {
	Within string    `yaml:"within"`
	Steps  []stepDoc `yaml:"steps"`
}

type countDoc struct {
	Kinds    []string `yaml:"kinds"`
	Match    string   `yaml:"match"`
	Group    string   `yaml:"group"`
	Distinct string   `yaml:"distinct"`
	Min      int      `yaml:"min"`
}

// Builtin returns the rule set embedded from rules/builtin, with the
// override layers loaded after it (see Load).
func Builtin(overrides ...fs.FS) (*Set, error) {
	sub, err := fs.Sub(builtinFS, "builtin")
	if err != nil {
		return nil, fmt.Errorf("builtin rules: %w", err)
	}
	return Load(sub, overrides...)
}

// OverridesEnv names the environment variable that lists the analyst's
// override directories (separated by ':'), loaded in order after the
// builtin rules by Default: they redefine or extend lists and macros and
// add rules.
const OverridesEnv = "FUMEHOOD_RULES"

// Default returns the rule set the commands judge with: Builtin with the
// directories OverridesEnv names as override layers.
func Default() (*Set, error) {
	var layers []fs.FS
	for _, dir := range strings.Split(os.Getenv(OverridesEnv), ":") {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("%s: %w", OverridesEnv, err)
		}
		layers = append(layers, os.DirFS(dir))
	}
	return Builtin(layers...)
}

// layerFile is one rule file of one layer.
type layerFile struct {
	fsys fs.FS
	name string
	doc  fileDoc
}

// Load compiles every *.yaml file under fsys and then under each of
// overrides (fixtures/ directories excluded), each layer's files in path
// order. Lists and macros are collected from all files first, so a later
// layer (an analyst's directory) redefines or extends (append: true) what
// an earlier one defined, and every rule sees the final definitions. Rule
// ids stay unique across layers. Errors name the file and the rule, list
// or macro and wrap ErrInvalid.
func Load(fsys fs.FS, overrides ...fs.FS) (*Set, error) {
	h := sha256.New()
	data := newRuleData()
	var files []layerFile
	for i, layer := range append([]fs.FS{fsys}, overrides...) {
		fmt.Fprintf(h, "layer %d\x00", i)
		lf, err := readLayer(layer, h)
		if err != nil {
			return nil, err
		}
		for _, f := range lf {
			if err := data.add(f.name, f.doc.Lists, f.doc.Macros); err != nil {
				return nil, err
			}
		}
		files = append(files, lf...)
	}
	if err := data.validate(); err != nil {
		return nil, err
	}
	s := &Set{}
	seen := make(map[string]string)
	for _, f := range files {
		for _, rd := range f.doc.Rules {
			if first, dup := seen[rd.ID]; dup {
				return nil, fmt.Errorf("%s: rule %q: %w: duplicate id (first in %s)", f.name, rd.ID, ErrInvalid, first)
			}
			seen[rd.ID] = f.name
			c, err := compile(rd, f.name, data)
			if err != nil {
				return nil, fmt.Errorf("%s: rule %q: %w: %w", f.name, rd.ID, ErrInvalid, err)
			}
			c.fsys = f.fsys
			s.rules = append(s.rules, c)
		}
	}
	if len(s.rules) == 0 {
		return nil, fmt.Errorf("no rules under the given file system: %w", ErrInvalid)
	}
	var err error
	if s.policy, err = data.policy(); err != nil {
		return nil, err
	}
	s.runners = make(map[string]bool)
	for _, r := range data.lists["script_runners"] {
		s.runners[r] = true
	}
	for _, d := range data.lists["temp_dirs"] {
		if !strings.ContainsAny(d, "*?[") {
			s.temps = append(s.temps, d)
		}
	}
	s.byKind = index(s.rules)
	n := 0
	for _, c := range s.rules {
		n = numberGlobs(c.pre, n)
	}
	s.version = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return s, nil
}

// readLayer reads and decodes the rule files of one layer, hashing their
// names and contents into h.
func readLayer(fsys fs.FS, h io.Writer) ([]layerFile, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "fixtures" {
			return fs.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list rule files: %w", err)
	}
	slices.Sort(files)
	var out []layerFile
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("read rule file: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		var doc fileDoc
		if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w: %w", f, ErrInvalid, err)
		}
		out = append(out, layerFile{fsys: fsys, name: f, doc: doc})
	}
	return out, nil
}

var severities = map[string]analysis.Severity{
	"info": analysis.Info, "low": analysis.Low, "medium": analysis.Medium,
	"high": analysis.High, "critical": analysis.Critical,
}

func compile(rd ruleDoc, file string, data *ruleData) (*compiled, error) {
	if rd.ID == "" {
		return nil, errors.New("missing id")
	}
	sev, ok := severities[rd.Severity]
	if !ok {
		return nil, fmt.Errorf("severity %q is not one of info, low, medium, high, critical", rd.Severity)
	}
	if rd.Description == "" || rd.Rationale == "" {
		return nil, errors.New("description and rationale are required")
	}
	c := &compiled{Rule: Rule{
		ID: rd.ID, Description: rd.Description, Severity: sev, Technique: rd.Technique,
		Rationale: strings.TrimSpace(rd.Rationale), Egress: rd.Egress, File: file,
	}}
	forms := 0
	for _, set := range []bool{rd.Match != "", rd.Sequence != nil, rd.Count != nil} {
		if set {
			forms++
		}
	}
	if forms != 1 {
		return nil, errors.New("exactly one of match, sequence and count is required")
	}
	if rd.Detail != "" && rd.Match == "" {
		return nil, errors.New("detail belongs to match rules")
	}
	if rd.Unless != nil && rd.Count != nil {
		return nil, errors.New("unless belongs to match and sequence rules")
	}
	add := func(kinds []string, src, what string) error {
		ks, err := parseKinds(kinds)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		src, err = data.expandSource(src)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		p, err := compileBool(src)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		c.steps = append(c.steps, p)
		c.pre = append(c.pre, newPrefilter(src))
		c.kinds = append(c.kinds, ks)
		return nil
	}
	switch {
	case rd.Match != "":
		if err := add(rd.Kinds, rd.Match, "match"); err != nil {
			return nil, err
		}
		var err error
		if c.detail, err = compileString(rd.Detail, data); err != nil {
			return nil, fmt.Errorf("detail: %w", err)
		}
	case rd.Sequence != nil:
		if len(rd.Kinds) > 0 {
			return nil, errors.New("kinds belong to each sequence step")
		}
		sq := rd.Sequence
		switch sq.Within {
		case ScopeProcess, ScopeLineage, ScopePhase, ScopeTrace:
			c.within = sq.Within
		default:
			return nil, fmt.Errorf("sequence: within %q is not one of process, lineage, phase, trace", sq.Within)
		}
		if len(sq.Steps) < 2 {
			return nil, errors.New("sequence: at least two steps are required")
		}
		for i, st := range sq.Steps {
			if err := add(st.Kinds, st.Match, fmt.Sprintf("sequence step %d", i+1)); err != nil {
				return nil, err
			}
		}
	default:
		if len(rd.Kinds) > 0 {
			return nil, errors.New("kinds belong inside count")
		}
		ct := rd.Count
		if ct.Min < 1 {
			return nil, errors.New("count: min must be at least 1")
		}
		if err := add(ct.Kinds, ct.Match, "count"); err != nil {
			return nil, err
		}
		c.isCount, c.min = true, ct.Min
		var err error
		if c.group, err = compileString(ct.Group, data); err != nil {
			return nil, fmt.Errorf("count group: %w", err)
		}
		if c.distinct, err = compileString(ct.Distinct, data); err != nil {
			return nil, fmt.Errorf("count distinct: %w", err)
		}
	}
	if rd.Unless != nil {
		c.unless = len(c.steps)
		if err := add(rd.Unless.Kinds, rd.Unless.Match, "unless"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func parseKinds(kinds []string) ([]trace.Kind, error) {
	if len(kinds) == 0 {
		return nil, errors.New("kinds: at least one event kind is required")
	}
	out := make([]trace.Kind, 0, len(kinds))
	for _, k := range kinds {
		if !trace.Kind(k).Valid() {
			return nil, fmt.Errorf("kinds: unknown event kind %q", k)
		}
		out = append(out, trace.Kind(k))
	}
	return out, nil
}

func compileBool(src string) (*vm.Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	return compileExpr(src, expr.AsBool())
}

// compileString compiles a string expression after expanding the lists
// and macros of data in it; "" compiles to nil.
func compileString(src string, data *ruleData) (*vm.Program, error) {
	if src == "" {
		return nil, nil
	}
	src, err := data.expandSource(src)
	if err != nil {
		return nil, err
	}
	return compileExpr(src, expr.AsKind(reflect.String))
}

// compileExpr compiles an expression of the given kind. It is checked first
// as written, then compiled with the literalMatches patch: expr re-checks
// a patched tree leniently (an unknown name passed as a function's
// argument is let through), so the errors come from the first compile.
func compileExpr(src string, kind expr.Option) (*vm.Program, error) {
	opts := append([]expr.Option{expr.Env(Env{}), kind}, functions...)
	if _, err := expr.Compile(src, opts...); err != nil {
		return nil, fmt.Errorf("expression: %w", err)
	}
	p, err := expr.Compile(src, append(opts, expr.Patch(literalMatches{}))...)
	if err != nil {
		return nil, fmt.Errorf("expression: %w", err)
	}
	return p, nil
}

// Version identifies the rule set: a sha256 of its rule files' names and
// contents.
func (s *Set) Version() string { return s.version }

// Policy returns the data process roles are decided from, read from the
// lists writable_dirs and package_manager_executables.
func (s *Set) Policy() trace.Policy { return s.policy }

// Rules returns the rules of the set, in file order.
func (s *Set) Rules() []Rule {
	out := make([]Rule, len(s.rules))
	for i, c := range s.rules {
		out[i] = c.Rule
	}
	return out
}

// only returns a set holding just rule i, sharing its compiled programs.
func (s *Set) only(i int) *Set {
	rules := []*compiled{s.rules[i]}
	return &Set{rules: rules, byKind: index(rules), version: s.version, policy: s.policy, runners: s.runners, temps: s.temps}
}

// index maps each event kind to the matchers that look at it. Later steps
// come first, so an event that matches two steps of a sequence advances an
// open chain before it opens a new one.
func index(rules []*compiled) map[trace.Kind][]ref {
	m := make(map[trace.Kind][]ref)
	for i, c := range rules {
		for step := len(c.steps) - 1; step >= 0; step-- {
			for _, k := range c.kinds[step] {
				m[k] = append(m[k], ref{rule: i, step: step, mask: c.pre[step].mask, want: c.pre[step].want})
			}
		}
	}
	return m
}

// fixtureDir is where the fixtures of a rule defined in file live.
func fixtureDir(file, id string) string {
	return path.Join(path.Dir(file), "fixtures", id)
}
