package bpf_test

import (
	"fmt"
	"log"

	"github.com/fumehood/fumehood/bpf"
)

// A worker loads the probes once and records each container by its
// cgroup id, between containerd's NewTask and Start.
func Example() {
	tracer, err := bpf.Load(bpf.Options{Slots: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer tracer.Close()

	var cgroupID uint64 // the inode number of the task's cgroup v2 directory
	rec, err := tracer.Watch(cgroupID)
	if err != nil {
		log.Fatal(err)
	}
	// ... start the task, wait for it, kill what is left ...
	events, err := rec.Stop()
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range events {
		fmt.Println(e.String())
	}
}
