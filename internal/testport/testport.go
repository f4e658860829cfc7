// Package testport reserves loopback ports for tests that hand them to another program
// (baresip, sipp, Postfix, Sendmail, smtp-sink, the vpim-milter binary) or to a server they
// start later in process. Only tests import it.
//
// A port taken with net.Listen("tcp", "127.0.0.1:0") and closed again is free only for a
// moment: the kernel hands the same ephemeral range to every outgoing connection and every
// other test, and baresip binds ports the test never asked for (its TLS transport on the SIP
// port + 1). Reserve avoids all three:
//
//   - the ports come from below the kernel's ephemeral range
//     (/proc/sys/net/ipv4/ip_local_port_range), where no outgoing connection lands;
//   - a block of consecutive ports is taken at once, so a program's "port + 1" is covered;
//   - each port is held twice: a TCP and a UDP socket bound to 127.0.0.1 (not listening:
//     a connection to a held port is refused), released by Block.Release right before the
//     program starts, and a lock (an abstract unix socket named after the port) that every
//     test process of this module respects and that is held until the test ends. Two tests,
//     in one process or in the parallel processes of `go test ./...`, never share a port,
//     even after one of them released its sockets for its program.
//
// What remains is a program outside this module binding the same port between Release and
// the program's own bind; the starters of external programs retry on "Address already in
// use" for that.
package testport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Block is a run of consecutive loopback ports reserved for one test.
type Block struct {
	base, n int
	mu      sync.Mutex
	fds     []int          // bound, not listening TCP and UDP sockets; nil after Release
	locks   []net.Listener // the abstract unix sockets that keep other tests off the ports
}

// Reserve reserves n consecutive ports for TCP and UDP on 127.0.0.1 until the test ends.
// The ports are held (bound) until Release.
func Reserve(t testing.TB, n int) *Block {
	t.Helper()
	if n < 1 {
		t.Fatalf("testport: Reserve(%d)", n)
	}
	lo, hi := searchRange()
	var last error
	for range 500 {
		base := lo + rand.IntN(hi-lo-n+1)
		b, err := take(base, n)
		if err == nil {
			t.Cleanup(b.close)
			return b
		}
		last = err
	}
	t.Fatalf("testport: no %d consecutive free ports in %d-%d: %v", n, lo, hi-1, last)
	return nil
}

// Port returns the i-th port of the block (0 is the first).
func (b *Block) Port(i int) int {
	if i < 0 || i >= b.n {
		panic(fmt.Sprintf("testport: port %d of a block of %d", i, b.n))
	}
	return b.base + i
}

// Ports returns every port of the block, in order.
func (b *Block) Ports() []int {
	p := make([]int, b.n)
	for i := range p {
		p[i] = b.base + i
	}
	return p
}

// Release closes the sockets that hold the ports, so that a program can bind them; call it
// right before the program starts. The ports stay reserved against other tests until the
// test ends. Release may be called more than once.
func (b *Block) Release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, fd := range b.fds {
		syscall.Close(fd)
	}
	b.fds = nil
}

// close releases the block and its locks (test cleanup).
func (b *Block) close() {
	b.Release()
	for _, l := range b.locks {
		l.Close()
	}
	b.locks = nil
}

// take locks and binds base..base+n-1, or undoes what it did and says what was in the way.
func take(base, n int) (*Block, error) {
	b := &Block{base: base, n: n}
	for p := base; p < base+n; p++ {
		// Go maps a leading "@" to the Linux abstract socket namespace: no file, and the
		// kernel drops it when the process dies.
		l, err := net.Listen("unix", "@vpim-milter-testport-"+strconv.Itoa(p))
		if err != nil {
			b.close()
			return nil, fmt.Errorf("port %d is reserved by another test", p)
		}
		b.locks = append(b.locks, l)
		for _, typ := range []int{syscall.SOCK_STREAM, syscall.SOCK_DGRAM} {
			fd, err := bindLoopback(typ, p)
			if err != nil {
				b.close()
				return nil, fmt.Errorf("port %d: %w", p, err)
			}
			b.fds = append(b.fds, fd)
		}
	}
	return b, nil
}

// bindLoopback binds a socket of type typ to 127.0.0.1:port without SO_REUSEADDR, so that
// no other socket can bind the port while it is held, and does not listen, so that a
// connection to the port is refused.
func bindLoopback(typ, port int) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, typ|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("bind: %w", err)
	}
	return fd, nil
}

// searchRange returns [lo, hi): the ports below the kernel's ephemeral range, from 10000
// (clear of the well-known ports and the fixed defaults of the bench scripts), or, when
// the ephemeral range leaves too little room there, the ports above it.
func searchRange() (lo, hi int) {
	const floor, room = 10000, 2000
	eLo, eHi := 32768, 60999 // Linux default
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			l, err1 := strconv.Atoi(f[0])
			h, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && l <= h {
				eLo, eHi = l, h
			}
		}
	}
	switch {
	case eLo-floor >= room:
		return floor, eLo
	case 65536-(eHi+1) >= room:
		return eHi + 1, 65536
	default:
		return floor, 65536 // no room outside: rely on the bind checks and the retries
	}
}

// Bound reports whether some socket holds port on the machine: a TCP listener
// (network "tcp") or a bound UDP socket ("udp"), on any address. It reads
// /proc/net/{tcp,udp} and opens no socket, so it can watch a program bind a released port
// without getting in its way.
func Bound(network string, port int) bool {
	b, err := os.ReadFile("/proc/net/" + network)
	if err != nil {
		return false
	}
	suffix := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		// sl local_address rem_address st ...; TCP state 0A is LISTEN
		if len(f) > 3 && strings.HasSuffix(f[1], suffix) && (network != "tcp" || f[3] == "0A") {
			return true
		}
	}
	return false
}

// InUse reports whether a program's output says that a port it tried to bind was taken
// (glibc's strerror(EADDRINUSE), as baresip, sipp, Postfix and Go print it).
func InUse(output string) bool {
	return strings.Contains(strings.ToLower(output), "address already in use")
}
