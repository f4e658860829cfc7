//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/integration/harness"
)

// TestDKIMChain runs vpim-milter between two real OpenDKIM milters (Debian's opendkim) in a
// real Postfix, in the order the README recommends:
//
//	smtpd_milters = opendkim-verify, $vpim_milter, opendkim-sign
//
// The mail comes from a sending domain (vm.example.com) whose own Postfix signs it with its
// own OpenDKIM; the keys are made with opendkim-genkey in the test's directory and every
// OpenDKIM finds them in a TestPublicKeys file instead of the DNS. At the sink each
// signature is verified with OpenDKIM's test mode (opendkim -t).
//
//   - A VPIM v2 message to an IVM recipient is rewritten by vpim-milter: it leaves with a
//     valid new signature (d=gw.example.net) made after the rewrite, and the verifier's
//     Authentication-Results (dkim=pass for the sender's signature, made on the bytes as
//     they arrived) is kept; the sender's own signature no longer verifies, which is why
//     the gateway signs again.
//   - A VPIM v2 message to a VPIM v2 peer is left alone: it arrives byte-identical below
//     the fields the gateway prepends (its signature, vpim-milter's VPIM-Check stamp, the
//     verifier's Authentication-Results, Postfix's Received), and the sender's signature
//     still verifies; the gateway's signature covers the stamp.
//   - In the wrong order (signer, vpim-milter, verifier) both break: the verifier sees the
//     rewritten message and fails the sender's signature, and the signature made before
//     the rewrite fails at the sink.
func TestDKIMChain(t *testing.T) {
	harness.Need(t, "opendkim", "opendkim-genkey")
	dir := t.TempDir()
	originKey, originRec := harness.DKIMKey(t, dir, "vm.example.com", "orig")
	gwKey, gwRec := harness.DKIMKey(t, dir, "gw.example.net", "gw")
	keys := harness.DKIMKeys(t, dir, map[string]string{
		"orig._domainkey.vm.example.com": originRec,
		"gw._domainkey.gw.example.net":   gwRec,
	})
	// The sender's signer covers the MIME fields too, and oversigns From (Debian's
	// opendkim.conf does): a change vpim-milter made to any of them, or to the body, would
	// break it.
	originSigner := harness.StartOpenDKIM(t, dir, "origin-sign", "Mode s",
		"Domain vm.example.com", "Selector orig", "KeyFile "+originKey,
		"Canonicalization relaxed/simple",
		"SignHeaders From,To,Cc,Subject,Date,Message-ID,MIME-Version,Content-Type,Sensitivity",
		"OversignHeaders From")
	// The verifier treats the test client on 127.0.0.1 as an outside host (by default it is
	// internal, InternalHosts), as an MX sees the Internet.
	verifier := harness.StartOpenDKIM(t, dir, "verify", "Mode v",
		"TestPublicKeys "+keys, "AuthservID gw.example.net", "InternalHosts 192.0.2.1")
	// The gateway signs whatever it relays (SigningTable "*"), not only mail From its own
	// domain: what it signs is what vpim-milter made of the message, the MIME fields
	// and the stamp included (README). It runs after vpim-milter, so it never refuses
	// (On-Default accept, default_action=accept: README "Filter order").
	signer := harness.StartOpenDKIM(t, dir, "sign", "Mode s", "On-Default accept",
		"KeyTable refile:"+writeFile(t, dir, "key-table", "gw gw.example.net:gw:"+gwKey+"\n"),
		"SigningTable refile:"+writeFile(t, dir, "signing-table", "* gw\n"),
		"Canonicalization relaxed/simple",
		"SignHeaders From,To,Cc,Subject,Date,Message-ID,MIME-Version,Content-Type,Message-Context,Sensitivity,VPIM-Check")
	d := startDaemon(t, "authserv_id = \"gw.example.net\"\n"+voiceConfig)

	origin := postfixWith(t, 0,
		fmt.Sprintf("smtpd_milters = inet:127.0.0.1:%d", originSigner.Port),
		"myhostname = mx.vm.example.com")
	gw := postfixWith(t, d.port, fmt.Sprintf("smtpd_milters = inet:127.0.0.1:%d, $vpim_milter, { inet:127.0.0.1:%d, default_action=accept }", verifier.Port, signer.Port))

	// signed builds a VPIM v2 message (the project's builder) and has the sending domain's
	// Postfix sign it; it returns the message as that Postfix relayed it.
	signed := func(t *testing.T, id, to string) string {
		t.Helper()
		msg := vpim2Message(t, id, to, "", 1)
		rcpt := strings.Trim(to, "<>")
		return relay(t, origin, "12145551212@vm.example.com", rcpt, id, msg).Message()
	}

	t.Run("rewritten message is signed again", func(t *testing.T) {
		in := signed(t, "dkim-rewrite", "ann@ivm.example.org")
		out := relay(t, gw, "12145551212@vm.example.com", "ann@ivm.example.org", "dkim-rewrite", in)
		if ct := out.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/mixed;") {
			t.Fatalf("Content-Type %q: vpim-milter did not rewrite the message to IVM\n%s", ct, d.logString())
		}
		checkAuthResults(t, out, "dkim=pass")
		checkStamp(t, out, "gw.example.net; mode=enforce; profile=vpim2; target=ivm; verdict=modify; rules=")
		got := harness.VerifyDKIM(t, dir, keys, out.Message())
		checkSigned(t, got)
		if len(got) != 2 {
			t.Fatalf("signatures %v, want the gateway's and the sender's", got)
		}
		if want := (harness.DKIMResult{Domain: "gw.example.net", Selector: "gw", Result: "succeeded"}); got[0].Domain != want.Domain || got[0].Selector != want.Selector || got[0].Result != want.Result {
			t.Errorf("first signature %v, want %v", got[0], want)
		}
		if got[1].Domain != "vm.example.com" || !strings.HasPrefix(got[1].Result, "failed") {
			t.Errorf("sender's signature %v: want it failed after the rewrite", got[1])
		}
	})

	t.Run("untouched message keeps its signature", func(t *testing.T) {
		in := signed(t, "dkim-untouched", "2722@vm.example.net")
		out := relay(t, gw, "12145551212@vm.example.com", "2722@vm.example.net", "dkim-untouched", in)
		msg := out.Message()
		prefix, ok := strings.CutSuffix(msg, in)
		if !ok {
			t.Fatalf("the message did not arrive byte-identical below the gateway's fields\nsent:\n%s\narrived:\n%s\n%s", in, msg, d.logString())
		}
		var names []string
		for _, f := range harness.HeaderFields(prefix) {
			names = append(names, harness.FieldName(f))
		}
		// The signer inserts at the top, after vpim-milter its stamp, after the verifier
		// its Authentication-Results, above Postfix's Received.
		if want := []string{"DKIM-Signature", "VPIM-Check", "Authentication-Results", "Received"}; !slices.Equal(names, want) {
			t.Errorf("the gateway prepended %q, want %q", names, want)
		}
		checkAuthResults(t, out, "dkim=pass")
		checkStamp(t, out, "gw.example.net; mode=enforce; profile=vpim2; target=vpim2; verdict=accept")
		got := harness.VerifyDKIM(t, dir, keys, msg)
		checkSigned(t, got)
		var res []string
		for _, r := range got {
			res = append(res, r.String())
		}
		want := []string{"d=gw.example.net s=gw: succeeded", "d=vm.example.com s=orig: succeeded"}
		if !slices.Equal(res, want) {
			t.Errorf("signatures %q, want %q", res, want)
		}
	})

	t.Run("wrong order breaks both", func(t *testing.T) {
		wrong := postfixWith(t, d.port, fmt.Sprintf("smtpd_milters = inet:127.0.0.1:%d, $vpim_milter, inet:127.0.0.1:%d", signer.Port, verifier.Port))
		in := signed(t, "dkim-wrong", "ann@ivm.example.org")
		out := relay(t, wrong, "12145551212@vm.example.com", "ann@ivm.example.org", "dkim-wrong", in)
		ar := checkAuthResults(t, out, "dkim=fail")
		if strings.Contains(ar, "dkim=pass") {
			t.Errorf("Authentication-Results %q: a signature passed after the rewrite", ar)
		}
		got := harness.VerifyDKIM(t, dir, keys, out.Message())
		for _, r := range got {
			if r.Result == "succeeded" {
				t.Errorf("signature %v verified although it was made before the rewrite or the rewrite broke it", r)
			}
		}
		if len(got) != 2 {
			t.Errorf("signatures %v, want the gateway's and the sender's", got)
		}
	})
}

// checkStamp checks that out has exactly one VPIM-Check field and that it starts with want
// (the rule list, when want ends in "rules=", depends on the profile's findings).
func checkStamp(t *testing.T, out harness.Delivered, want string) {
	t.Helper()
	stamps := out.Header.Values("Vpim-Check")
	if len(stamps) != 1 || !strings.HasPrefix(stamps[0], want) || (!strings.HasSuffix(want, "rules=") && stamps[0] != want) {
		t.Errorf("VPIM-Check %q, want one: %q", stamps, want)
	}
}

// checkSigned checks that the gateway's signature covers the stamp and the sender's does
// not (an added field breaks a signature only when its h= names it: RFC 6376 5.4.2).
func checkSigned(t *testing.T, sigs []harness.DKIMResult) {
	t.Helper()
	for _, s := range sigs {
		if covers := slices.Contains(s.Signed, "vpim-check"); covers != (s.Domain == "gw.example.net") {
			t.Errorf("signature d=%s h=%s: covers VPIM-Check %v", s.Domain, strings.Join(s.Signed, ":"), covers)
		}
	}
}

// postfixWith starts a private Postfix whose vpim_milter is 127.0.0.1:milterPort (0: none)
// with the extra main.cf settings.
func postfixWith(t *testing.T, milterPort int, settings ...string) *harness.Instance {
	t.Helper()
	h := harness.Postfix()
	h.Main = settings
	return h.Up(t, h.MilterAddr(milterPort))
}

// relay submits msg from from to rcpt through in and returns the message with Message-ID
// <id@vm.example.com> once it reached in's sink.
func relay(t *testing.T, in *harness.Instance, from, rcpt, id, msg string) harness.Delivered {
	t.Helper()
	before := len(in.Delivered(t))
	if code, text := in.Submit(t, from, []string{rcpt}, msg); code != 250 {
		t.Fatalf("%s: %d %s", in.Name, code, text)
	}
	want := "<" + id + "@vm.example.com>"
	for _, d := range in.WaitDelivered(t, before+1, 30*time.Second) {
		if d.Header.Get("Message-Id") == want {
			return d
		}
	}
	t.Fatalf("%s: %s not delivered", in.Name, want)
	return harness.Delivered{}
}

// checkAuthResults checks that out has exactly one Authentication-Results field, the
// verifier's (authserv-id gw.example.net), that reports result for the sender's signature,
// and returns its value.
func checkAuthResults(t *testing.T, out harness.Delivered, result string) string {
	t.Helper()
	ars := out.Header.Values("Authentication-Results")
	if len(ars) != 1 {
		t.Fatalf("Authentication-Results %q, want the verifier's one", ars)
	}
	ar := strings.Join(strings.Fields(ars[0]), " ")
	if !strings.HasPrefix(ar, "gw.example.net;") || !strings.Contains(ar, result) || !strings.Contains(ar, "header.d=vm.example.com") || !strings.Contains(ar, "header.s=orig") {
		t.Errorf("Authentication-Results %q, want the verifier's %s for d=vm.example.com s=orig", ar, result)
	}
	return ar
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
