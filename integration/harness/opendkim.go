//go:build integration

package harness

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// OpenDKIM is a private opendkim(8) milter process (Debian's opendkim) that StartOpenDKIM
// started.
type OpenDKIM struct {
	// Port is the loopback TCP port the milter listens on.
	Port int
	// Conf is its opendkim.conf.
	Conf string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
}

// Output is what the process wrote on stdout and stderr so far.
func (o *OpenDKIM) Output() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.String()
}

func (o *OpenDKIM) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.Write(p)
}

// StartOpenDKIM writes dir/NAME.conf from settings (opendkim.conf lines, "Key value") plus
// what every test instance needs (Socket on a reserved loopback port, foreground, no
// syslog, RequireSafeKeys off: the keys live below /tmp, which is world-writable), starts
// `opendkim -f -x` on it, waits until it listens and kills it by PID when the test ends. On
// a failed test its output is logged.
func StartOpenDKIM(t testing.TB, dir, name string, settings ...string) *OpenDKIM {
	t.Helper()
	Need(t, "opendkim")
	const tries = 3
	for try := 1; ; try++ {
		ports := testport.Reserve(t, 1)
		o := &OpenDKIM{Port: ports.Port(0), Conf: filepath.Join(dir, name+".conf")}
		conf := strings.Join(settings, "\n") + fmt.Sprintf(`
Socket inet:%d@127.0.0.1
Background no
Syslog no
RequireSafeKeys no
`, o.Port)
		if err := os.WriteFile(o.Conf, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		o.cmd = exec.Command("opendkim", "-f", "-x", o.Conf)
		o.cmd.Stdout, o.cmd.Stderr = o, o
		ports.Release()
		if err := o.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = o.cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = o.cmd.Process.Kill()
			<-exited
			if t.Failed() {
				t.Logf("opendkim %s output:\n%s", name, o.Output())
			}
		})
		if waitTCP(o.Port, exited, 10*time.Second) {
			return o
		}
		if !testport.InUse(o.Output()) || try == tries {
			t.Fatalf("opendkim %s did not listen on %d:\n%s", name, o.Port, o.Output())
		}
		t.Logf("opendkim %s found its port taken, trying another", name)
	}
}

// waitTCP waits until 127.0.0.1:port accepts a connection (true), the process exits or
// timeout passes (false).
func waitTCP(port int, exited <-chan struct{}, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return true
		}
		select {
		case <-exited:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

// DKIMKey makes an RSA key pair with opendkim-genkey in dir for selector._domainkey.domain
// and returns the private key file and the key record (the TXT record's text, "v=DKIM1;
// h=sha256; k=rsa; p=...").
func DKIMKey(t testing.TB, dir, domain, selector string) (keyFile, record string) {
	t.Helper()
	Need(t, "opendkim-genkey")
	out, err := exec.Command("opendkim-genkey", "-D", dir, "-d", domain, "-s", selector, "-b", "2048").CombinedOutput()
	if err != nil {
		t.Fatalf("opendkim-genkey: %v\n%s", err, out)
	}
	zone, err := os.ReadFile(filepath.Join(dir, selector+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	// selector._domainkey IN TXT ( "v=DKIM1; h=sha256; k=rsa; " "p=MIIB..." "..." ) ; comment
	var b strings.Builder
	for _, m := range quoted.FindAllStringSubmatch(string(zone), -1) {
		b.WriteString(m[1])
	}
	record = b.String()
	if !strings.HasPrefix(record, "v=DKIM1;") || !strings.Contains(record, "p=") {
		t.Fatalf("opendkim-genkey wrote no key record:\n%s", zone)
	}
	return filepath.Join(dir, selector+".private"), record
}

var quoted = regexp.MustCompile(`"([^"]*)"`)

// DKIMKeys writes the key records (DNS name, "selector._domainkey.domain", to record) into
// the file OpenDKIM's TestPublicKeys setting names, in dir, and returns its path: OpenDKIM
// then looks keys up there instead of in the DNS.
func DKIMKeys(t testing.TB, dir string, records map[string]string) string {
	t.Helper()
	var b strings.Builder
	for name, rec := range records {
		fmt.Fprintf(&b, "%s %s\n", name, rec)
	}
	p := filepath.Join(dir, "public-keys")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// DKIMResult is what OpenDKIM's test mode (opendkim -t) said about one DKIM-Signature of a
// message.
type DKIMResult struct {
	Domain   string   // d=
	Selector string   // s=
	Signed   []string // h=, the signed header field names in lower case
	// Result is "succeeded", or "failed: " and OpenDKIM's reason ("body hash mismatch", ...).
	Result string
}

// String is "d=DOMAIN s=SELECTOR: RESULT".
func (r DKIMResult) String() string {
	return fmt.Sprintf("d=%s s=%s: %s", r.Domain, r.Selector, r.Result)
}

// VerifyDKIM verifies every DKIM-Signature of msg (LF or CRLF line ends) with `opendkim -t`,
// the keys coming from the TestPublicKeys file keys (DKIMKeys), in the order the signatures
// appear. OpenDKIM's test mode reports only one signature per message, so each signature
// is verified on a copy of msg from which the other DKIM-Signature fields are removed;
// that changes nothing for it as long as it does not sign DKIM-Signature fields itself,
// which VerifyDKIM checks (a signature that does fails the test).
func VerifyDKIM(t testing.TB, dir, keys, msg string) []DKIMResult {
	t.Helper()
	Need(t, "opendkim")
	conf := filepath.Join(dir, "verify-t.conf")
	if err := os.WriteFile(conf, []byte("Mode v\nSyslog no\nTestPublicKeys "+keys+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	head, body, ok := strings.Cut(msg, "\n\n")
	if !ok {
		t.Fatalf("message without a header/body separator:\n%s", msg)
	}
	fields := HeaderFields(head + "\n")
	var sigs []int
	for i, f := range fields {
		if strings.EqualFold(FieldName(f), "DKIM-Signature") {
			sigs = append(sigs, i)
		}
	}
	var out []DKIMResult
	for n, k := range sigs {
		tags := dkimTags(fields[k])
		r := DKIMResult{Domain: tags["d"], Selector: tags["s"]}
		for _, h := range strings.Split(tags["h"], ":") {
			r.Signed = append(r.Signed, strings.ToLower(strings.TrimSpace(h)))
		}
		if slices.Contains(r.Signed, "dkim-signature") {
			t.Fatalf("signature %s signs DKIM-Signature fields: cannot be verified alone", r)
		}
		var b strings.Builder
		for i, f := range fields {
			if i == k || !slices.Contains(sigs, i) {
				b.WriteString(f)
			}
		}
		b.WriteString("\n" + body)
		file := filepath.Join(dir, fmt.Sprintf("verify-%d.eml", n))
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := exec.Command("opendkim", "-x", conf, "-t", file).CombinedOutput()
		m := verification.FindStringSubmatch(string(res))
		if err != nil || m == nil {
			t.Fatalf("opendkim -t %s: %v\n%s", file, err, res)
		}
		r.Result = m[1]
		out = append(out, r)
	}
	return out
}

// verification is the line opendkim -t prints for the message: "opendkim: FILE:
// verification (s=gw, d=example.net, 2048-bit key) succeeded" or "... failed: REASON".
var verification = regexp.MustCompile(`verification \([^)]*\) (succeeded|failed: [^\n]*)`)

// HeaderFields splits a header block (lines ending in \n) into its fields, each with its
// continuation lines and line ends.
func HeaderFields(head string) []string {
	var fields []string
	for _, line := range strings.SplitAfter(head, "\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] += line
			continue
		}
		fields = append(fields, line)
	}
	return fields
}

// FieldName is the name of a header field as HeaderFields returns it.
func FieldName(field string) string {
	name, _, _ := strings.Cut(field, ":")
	return strings.TrimSpace(name)
}

// dkimTags parses the tag=value list of a DKIM-Signature field (RFC 6376 3.2), whitespace
// removed.
func dkimTags(field string) map[string]string {
	_, v, _ := strings.Cut(field, ":")
	tags := map[string]string{}
	for _, tv := range strings.Split(v, ";") {
		tag, val, ok := strings.Cut(tv, "=")
		if !ok {
			continue
		}
		tags[strings.TrimSpace(tag)] = strings.Join(strings.Fields(val), "")
	}
	return tags
}
