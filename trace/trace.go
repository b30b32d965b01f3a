package trace

import "slices"

// Trace is everything observed during one analysis: what the pipeline
// knows of each phase, the events of every phase in order (numbered from
// 1), and the process table built from them.
type Trace struct {
	// Phases holds the pipeline's metadata of each phase (its init and
	// the role of its command); empty for traces recorded before it was
	// kept, whose roles fall back to the first exec of each phase.
	Phases []PhaseInfo `json:"phases,omitempty"`
	Events []Event     `json:"events"`
	// Processes is the process table as stored with the trace, for
	// readers (the API, the analyst pages); nil until someone builds it
	// (see BuildTable). Its processes carry no links between them:
	// follow Parent keys.
	Processes []*Process `json:"processes,omitempty"`
	// Previous is what the farm knew, when it judged the trace, of the
	// package's newest earlier analysed version; nil when none had been
	// analysed (and for traces judged without a store: fumehood analyze).
	Previous *Previous `json:"previous,omitempty"`
}

// Previous compares a trace's package with the newest version of it below
// this one (by the ecosystem's version order) that had been analysed when
// the trace was judged, as far as rules need it. The farm fills it in
// before judging from the stored analysis and trace of that version
// (package report's normalised comparison) and stores it with the trace,
// so that the stored trace judges alone (fixtures, fumehood rules); the
// farm's re-judge compares afresh with what its store holds then.
type Previous struct {
	// Analysis and Version name the earlier analysis.
	Analysis string `json:"analysis"`
	Version  string `json:"version"`
	// NewScripts names the install scripts ("PHASE NAME") this version
	// declares and the earlier one did not, or declared with another
	// command or with other content in the files it runs.
	NewScripts []string `json:"new_scripts,omitempty"`
	// NewScriptProcs are the processes that ran them: the direct children
	// of the phase's command whose first exec runs one.
	NewScriptProcs []ProcKey `json:"new_script_procs,omitempty"`
}

// Append adds the events of one phase, stamping each with the phase name
// and the next sequence number. The events are copied.
func (t *Trace) Append(phase string, events []Event) {
	next := uint64(len(t.Events)) + 1
	t.Events = slices.Grow(t.Events, len(events))
	for _, e := range events {
		e.Phase = phase
		e.Seq = next
		next++
		t.Events = append(t.Events, e)
	}
}

// Lost returns the number of events the kernel dropped, over all phases.
func (t *Trace) Lost() uint64 {
	var n uint64
	for i := range t.Events {
		if t.Events[i].Kind == KindLost {
			n += t.Events[i].Count
		}
	}
	return n
}

// LostEvidence returns how many of the lost events could have been
// evidence: all but the opens of files that do not exist (lost events
// that are Missing), which read nothing.
func (t *Trace) LostEvidence() uint64 {
	var n uint64
	for i := range t.Events {
		if e := &t.Events[i]; e.Kind == KindLost && !e.Missing() {
			n += e.Count
		}
	}
	return n
}

// Event returns the event with sequence number seq, or nil.
func (t *Trace) Event(seq uint64) *Event {
	if seq == 0 || seq > uint64(len(t.Events)) {
		return nil
	}
	if e := &t.Events[seq-1]; e.Seq == seq {
		return e
	}
	for i := range t.Events {
		if t.Events[i].Seq == seq {
			return &t.Events[i]
		}
	}
	return nil
}
