package store_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/store"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "fumehood-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	st, blobs, err := store.Open(ctx, dir) // DIR/fumehood.db and DIR/blobs
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	r := &store.Record{Spec: "npm:left-pad@1.3.0"}
	r.ID = "0190d6e2-7f3a-7c1e-9d2b-3f4a5b6c7d8e"
	r.Package = analysis.Package{Ecosystem: "npm", Name: "left-pad", Version: "1.3.0"}
	if err := st.Create(ctx, r); err != nil {
		log.Fatal(err)
	}

	digest, err := blobs.Put(ctx, strings.NewReader(`{"seq":1,"kind":"exec"}`+"\n"))
	if err != nil {
		log.Fatal(err)
	}
	a := r.Analysis
	a.Verdict = analysis.Benign
	if err := st.Complete(ctx, &a, digest); err != nil {
		log.Fatal(err)
	}

	page, next, err := st.List(ctx, store.Query{Verdict: analysis.Benign})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range page {
		fmt.Println(r.Package.Name, r.Status, r.Verdict)
	}
	fmt.Printf("next page: %q\n", next)

	rc, err := blobs.Get(ctx, page[0].TraceDigest)
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	trace, err := io.ReadAll(rc)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(trace))
	// Output:
	// left-pad done benign
	// next page: ""
	// {"seq":1,"kind":"exec"}
}
