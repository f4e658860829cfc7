package testport

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A held block refuses connections and binds for TCP and UDP; after Release both bind, and
// the ports are still kept from other reservations.
func TestReserveHoldRelease(t *testing.T) {
	b := Reserve(t, 3)
	lo, hi := searchRange()
	ports := b.Ports()
	for i, p := range ports {
		if p != b.Port(0)+i || p < lo || p >= hi {
			t.Fatalf("ports %v: not consecutive in [%d, %d)", ports, lo, hi)
		}
	}
	for _, p := range ports {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		if _, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial held %s: %v, want connection refused", addr, err)
		}
		if l, err := net.Listen("tcp", addr); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("listen tcp on held %s: %v, want address in use", addr, err)
			if err == nil {
				l.Close()
			}
		}
		if c, err := net.ListenPacket("udp", addr); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("listen udp on held %s: %v, want address in use", addr, err)
			if err == nil {
				c.Close()
			}
		}
	}
	b.Release()
	b.Release() // twice is fine
	for _, p := range ports {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen tcp on released %s: %v", addr, err)
		}
		l.Close()
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatalf("listen udp on released %s: %v", addr, err)
		}
		c.Close()
		if _, err := take(p, 1); err == nil || !strings.Contains(err.Error(), "reserved by another test") {
			t.Errorf("take(%d) after Release: %v, want reserved by another test", p, err)
		}
	}
}

// Reservations of one or of several tests never overlap.
func TestReserveDisjoint(t *testing.T) {
	seen := map[int]bool{}
	for range 40 {
		for _, p := range Reserve(t, 14).Ports() {
			if seen[p] {
				t.Fatalf("port %d reserved twice", p)
			}
			seen[p] = true
		}
	}
}

// A port some other socket holds is never handed out: take fails on it, whoever holds it.
func TestTakeBusy(t *testing.T) {
	lo, _ := searchRange()
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			var port int
			var closeIt func() error
			for p := lo + 7000; ; p++ { // any free port in the range
				if network == "tcp" {
					if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
						port, closeIt = p, l.Close
					}
				} else if c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
					port, closeIt = p, c.Close
				}
				if port != 0 {
					break
				}
			}
			defer closeIt()
			b, err := take(port-1, 3)
			if err == nil {
				b.close()
				t.Fatalf("take(%d, 3) succeeded over a %s socket on %d", port-1, network, port)
			}
			if !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("take: %v, want address in use", err)
			}
			// everything take bound before it hit the busy port is undone
			b, err = take(port-1, 1)
			if err != nil {
				t.Fatalf("take(%d, 1) after the failed take: %v", port-1, err)
			}
			b.close()
		})
	}
}

// The ports a test released are kept from the reservations of another test process.
func TestReservedAcrossProcesses(t *testing.T) {
	if p, _ := strconv.Atoi(os.Getenv("TESTPORT_CHILD")); p != 0 {
		// the child: try to take exactly the parent's ports
		if b, err := take(p, 2); err != nil {
			fmt.Printf("child: %v\n", err)
		} else {
			b.close()
			fmt.Printf("child: took %d\n", p)
		}
		return
	}
	b := Reserve(t, 2)
	b.Release()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReservedAcrossProcesses$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("TESTPORT_CHILD=%d", b.Port(0)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("child: port %d is reserved by another test\n", b.Port(0)); !strings.Contains(string(out), want) {
		t.Fatalf("child output lacks %q:\n%s", want, out)
	}
}

// Bound sees a TCP listener and a UDP socket, and not a released port; a held (bound, not
// listening) TCP port is no listener.
func TestBound(t *testing.T) {
	b := Reserve(t, 2)
	tcp, udp := b.Port(0), b.Port(1)
	if Bound("tcp", tcp) {
		t.Errorf("held tcp port %d reported as a listener", tcp)
	}
	b.Release()
	if Bound("tcp", tcp) || Bound("udp", udp) {
		t.Fatalf("released ports %d, %d reported bound", tcp, udp)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", tcp))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", udp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !Bound("tcp", tcp) || !Bound("udp", udp) {
		t.Errorf("tcp %d bound %v, udp %d bound %v; want both", tcp, Bound("tcp", tcp), udp, Bound("udp", udp))
	}
	if Bound("udp", tcp) || Bound("tcp", udp) {
		t.Errorf("port reported bound for the other protocol")
	}
}

func TestInUse(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want bool
	}{
		{"tcp: sock_bind: 127.0.0.1:5061: Address already in use [98]", true},
		{"Unable to bind main socket, errno = 98 (Address already in use)", true},
		{"fatal: bind 127.0.0.1 port 2525: Address already in use", true},
		{"listen tcp 127.0.0.1:8895: bind: address already in use", true},
		{"baresip is ready.", false},
		{"", false},
	} {
		if got := InUse(tc.out); got != tc.want {
			t.Errorf("InUse(%q) = %v, want %v", tc.out, got, tc.want)
		}
	}
}

// The ports of a block in order.
func TestPorts(t *testing.T) {
	b := &Block{base: 20000, n: 3}
	if got, want := b.Ports(), []int{20000, 20001, 20002}; !slices.Equal(got, want) {
		t.Errorf("Ports() = %v, want %v", got, want)
	}
}
