package siptest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// Kamailio is a running Kamailio SIP proxy with the dispatcher configuration
// kamailio/dispatcher.cfg.
type Kamailio struct {
	// Port is its SIP port (UDP only) on 127.0.0.1.
	Port int

	p *proc
}

// StartKamailio runs Kamailio as a stateful proxy that dispatches every INVITE over dsts
// ("sip:127.0.0.1:5080", ...; dispatcher set 1, in this order) with
// kamailio/dispatcher.cfg used verbatim (a copy in its directory): round robin, failover
// to the next destination on 5xx or no answer, OPTIONS probing. The instance is private:
// its SIP port (UDP on 127.0.0.1) is reserved, its configuration, dispatcher list,
// runtime directory and pid file are in a directory of its own, and it logs to a file of
// the test. Started as root, it runs as the user nobody (then it opens no raw socket). It
// is killed, with its children, when the test ends.
func StartKamailio(t testing.TB, dsts ...string) *Kamailio {
	t.Helper()
	need(t, "kamailio", "kamailio")
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("siptest: kamailio: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: its parent is private to the test's user.
	run, err := os.MkdirTemp("", "siptest-kamailio-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) }) // runs after the kill: cleanups are last in, first out
	var list strings.Builder
	for _, d := range dsts {
		fmt.Fprintf(&list, "1 %s\n", d)
	}
	dsList := filepath.Join(run, "dispatcher.list")
	if err := os.WriteFile(dsList, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// A copy, byte for byte: nobody may not be able to read the checkout (under /root).
	b, err := os.ReadFile(filepath.Join(dir(), "kamailio", "dispatcher.cfg"))
	if err != nil {
		t.Fatalf("siptest: kamailio: %v", err)
	}
	cfg := filepath.Join(run, "dispatcher.cfg")
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(run, 0o755); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(run, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	for try := 1; ; try++ {
		ports := testport.Reserve(t, 1)
		k := &Kamailio{Port: ports.Port(0)}
		pidFile := filepath.Join(run, "kamailio.pid")
		os.Remove(pidFile)
		cmd := exec.Command("kamailio", "-f", cfg, "-DD", "-E",
			"-l", fmt.Sprintf("udp:127.0.0.1:%d", k.Port),
			"-Y", run, "-P", pidFile, "-w", run,
			"-A", fmt.Sprintf("DS_LIST=%q", dsList),
			"-m", "32", "-M", "4")
		cmd.Dir = run
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		ports.Release()
		k.p = startCmd(t, cmd)
		if k.p.wait(t, 10*time.Second, func() bool { return testport.Bound("udp", k.Port) }) {
			return k
		}
		k.p.retryOrFail(t, try)
	}
}

// Log is Kamailio's log so far (its script logs "dispatch: ...", "failover: ..." and
// "dispatcher: destination down|up: ..." lines).
func (k *Kamailio) Log() string { return string(k.p.output()) }

// WaitLog waits up to timeout until the log contains s, and returns the log.
func (k *Kamailio) WaitLog(t testing.TB, s string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if log := k.Log(); strings.Contains(log, s) {
			return log
		}
		if time.Now().After(deadline) {
			t.Fatalf("siptest: kamailio did not log %q within %v:\n%s", s, timeout, tail(k.Log(), 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// CheckSockets fails the test unless every socket the instance's processes hold is its
// SIP port (UDP, 127.0.0.1) or a unix socket: no TCP, TLS or SCTP listener, no other
// address, no raw socket. Call it once the instance has handled calls (all its processes
// are up).
func (k *Kamailio) CheckSockets(t testing.TB) {
	t.Helper()
	pids := group(k.p.pid)
	if len(pids) < 2 {
		t.Fatalf("siptest: kamailio: %d processes in its group, want the main one and its children", len(pids))
	}
	// inode -> what it is, from the kernel's socket tables
	known := map[string]string{}
	for _, table := range []string{"tcp", "tcp6", "udp", "udp6", "udplite", "udplite6", "raw", "raw6", "unix", "netlink", "packet"} {
		b, _ := os.ReadFile("/proc/net/" + table)
		lines := strings.Split(string(b), "\n")
		for _, line := range lines[min(1, len(lines)):] {
			f := strings.Fields(line)
			col := 9 // tcp, udp, raw: sl local remote st queues tr retrnsmt uid timeout inode
			switch table {
			case "unix":
				col = 6 // Num RefCount Protocol Flags Type St Inode Path
			case "netlink":
				col = 9 // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
			case "packet":
				col = 8 // sk RefCnt Type Proto Iface R Rmem User Inode
			}
			if len(f) > col {
				what := table
				if table != "unix" && table != "netlink" && table != "packet" {
					what += " " + f[1]
				}
				known[f[col]] = what
			}
		}
	}
	want := fmt.Sprintf("udp 0100007F:%04X", k.Port)
	holders := map[string][]int{} // socket inode -> the processes that hold it
	for _, pid := range pids {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		for _, fd := range fds {
			if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, "socket:[") {
				inode := strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")
				holders[inode] = append(holders[inode], pid)
			}
		}
	}
	sip := false
	for inode, who := range holders {
		switch what := known[inode]; what {
		case want:
			sip = true
		case "unix":
		default:
			if what == "" {
				what = "a socket of another kind"
			}
			t.Errorf("siptest: kamailio processes %v hold %s (inode %s), want only udp 127.0.0.1:%d and unix sockets", who, what, inode, k.Port)
		}
	}
	if !sip {
		t.Errorf("siptest: kamailio does not hold its SIP port udp 127.0.0.1:%d", k.Port)
	}
}

// group returns the processes whose process group is pgid.
func group(pgid int) []int {
	var pids []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			pid, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(s, "/proc/"), "/stat"))
			pids = append(pids, pid)
		}
	}
	return pids
}
