package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestStopKeptMailKillsOnlyTheMailServer: the pid a demo recorded may be
// reused by any process once the mail server is gone; the next demo must
// not stop that process (it stopped a test binary's DynamoDB server).
func TestStopKeptMailKillsOnlyTheMailServer(t *testing.T) {
	other := exec.Command("sleep", "30")
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer other.Process.Kill()
	exited := make(chan struct{})
	go func() { other.Wait(); close(exited) }()
	file := keptMailPIDFile()
	old, had := os.ReadFile(file)
	defer func() {
		if had == nil {
			os.WriteFile(file, old, 0o644)
		}
	}()
	os.MkdirAll(filepath.Dir(file), 0o755)
	if err := os.WriteFile(file, []byte(fmt.Sprint(other.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	stopKeptMail()
	select {
	case <-exited:
		t.Fatal("stopKeptMail killed a process that is not the kept mail server")
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := os.Stat(file); err == nil {
		t.Errorf("the stale pid file was left behind")
	}
}
