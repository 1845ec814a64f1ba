package localaws

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestStopLeavesReusedPidsAlone: a server that ended before Stop (it lost
// its port, or crashed) is not signalled: its pid, and so its process group
// id, may belong to another process by then. Here the ended server's pid is
// set to a live process group's, as a reuse would.
func TestStopLeavesReusedPidsAlone(t *testing.T) {
	var s Servers
	p, err := s.start(nil, "true")
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	other := exec.Command("sleep", "30")
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer other.Process.Kill()
	exited := make(chan struct{})
	go func() { other.Wait(); close(exited) }()
	p.cmd.Process.Pid = other.Process.Pid // the number reused
	s.Stop()
	select {
	case <-exited:
		t.Fatal("Stop signalled the process group of a server that had already ended")
	case <-time.After(300 * time.Millisecond):
	}
	if died := (&Servers{procs: s.procs}).Died(); len(died) != 1 {
		t.Errorf("Died() = %v, want the ended server", died)
	}
}
