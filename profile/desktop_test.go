package profile

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/codec"
)

// desktopRcpt is the desktop recipient of the test policy.
const desktopRcpt = "ann@desk.example.net"

// mp3At encodes secs seconds of the test tone as MP3 with options o, with
// the project's encoder.
func mp3At(secs float64, o codec.MP3Options) []byte {
	pcm := tonePCM(secs, 440)
	var b bytes.Buffer
	w, err := codec.NewMP3Writer(&b, int64(len(pcm)/2), o)
	if err != nil {
		panic(err)
	}
	w.Write(pcm)
	if err := w.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// desktopCorpus adds the messages of the desktop target (README "Desktop
// clients"), named desktop-*, to m: every kind of voice mail the issue
// names (Asterisk WAV49 and PCM, VPIM v2 G.726, IVM µ-law, v1 with empty
// segments, Exchange, FRITZ!Box A-law, MP3 at any rate), what a desktop
// target keeps, what it cannot convert, and privacy.
func desktopCorpus(m map[string][]byte) {
	astHdr := `Date: Mon, 23 Nov 2026 10:15:32 +0100
From: "Voicemail" <vm@pbx.example.com>
To: "Ann" <ann@desk.example.net>
Subject: [PBX]: New message 1 in mailbox 1001
Message-ID: <Asterisk-%s-1001-4242@pbx.example.com>
X-Asterisk-CallerID: 0612345678
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----voicemail_1"`
	astText := part("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit", "You have a 0:04 long message from Frank.")
	m["desktop-asterisk-wav49"] = msg(strings.Replace(astHdr, "%s", "dt1", 1), multipart("----voicemail_1", astText,
		wavPart(`audio/x-WAV; name="msg0000.WAV"`, `attachment; filename="msg0000.WAV"`, tone(codec.WAVGSM, 4))))
	m["desktop-asterisk-pcm"] = msg(strings.Replace(astHdr, "%s", "dt2", 1), multipart("----voicemail_1", astText,
		wavPart(`audio/x-wav; name="msg0000.wav"`, `attachment; filename="msg0000.wav"`, tone(codec.WAVPCM16, 3))))
	m["desktop-vpim2"] = msg(v2Header("dt3", desktopRcpt), multipart("VB",
		adpcmPart("Originator-Spoken-Name", 1), adpcmPart("Voice-Message", 5)))
	m["desktop-vpim2-text-outside"] = msg(strings.Replace(v2Header("dt4", desktopRcpt), `multipart/voice-message; version=2.0; boundary="VB"`, `multipart/mixed; boundary="MX"`, 1),
		multipart("MX", textPart, part(`Content-Type: multipart/voice-message; version=2.0; boundary="VB"`, multipart("VB", adpcmPart("Voice-Message", 2)))))
	m["desktop-ivm"] = msg(ivmHeader("dt5", desktopRcpt), multipart("MB", textPart, basicPart("Voice-Message", "REQUIRED", 3)))
	m["desktop-v1-empty-segments"] = msg(`From: 2175552345@vm1.example.com
To: ann@desk.example.net
Date: Mon, 23 Nov 2026 10:20:20 -0600
Message-ID: <dt6@vm1.example.com>
MIME-Version: 1.0 (Voice 1.0)
Content-Type: multipart/voice-message; boundary="B1"`, multipart("B1",
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", ""),
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", ""),
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", b64(tone(codec.ADPCM32, 2)))))
	m["desktop-exchange"] = msg(`From: "Unified Messaging" <um@exchange.example.com>
To: ann@desk.example.net
Date: Mon, 23 Nov 2026 09:00:00 +0000
Subject: Voice Mail from 5551234 (3 seconds)
Message-ID: <dt7@exchange.example.com>
Content-Class: voice-ca
X-CallingTelephoneNumber: 5551234
X-VoiceMessageDuration: 3
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="EX"`, multipart("EX", textPart, wavPart("audio/wav; name=audio.wav", "attachment; filename=audio.wav", tone(codec.WAVULaw, 3))))
	m["desktop-fritzbox-alaw"] = msg(`From: "FRITZ!Box" <fritzbox@example.de>
To: ann@desk.example.net
Date: Mon, 23 Nov 2026 10:15:00 +0100
Subject: =?utf-8?Q?Nachricht_von_0301234567_f=C3=BCr_1234567?=
Message-ID: <dt8.fritzbox@example.de>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="FB"`, multipart("FB",
		part("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable",
			"Hallo,=0D=0A=0D=0Aam 23.11.2026 um 10:15 Uhr hat 0301234567 eine Nachricht f=C3=BCr Sie hinterlassen.=0D=0A"),
		wavPart(`audio/x-wav; name="20261123_1015_0301234567.wav"`, `attachment; filename="20261123_1015_0301234567.wav"`, tone(codec.WAVALaw, 3))))
	mp3Hdr := `From: "Voicemail" <vm@pbx.example.com>
To: ann@desk.example.net
Date: Mon, 23 Nov 2026 10:15:32 +0100
Subject: New voicemail
Message-ID: <%s@pbx.example.com>
X-Asterisk-CallerID: 0612345678
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="AS"`
	// An MPEG-2 MP3 as a PBX sends it, unlabelled and unnamed: kept, only
	// labelled, named and timed.
	m["desktop-mp3-octet-stream"] = msg(strings.Replace(mp3Hdr, "%s", "dt9", 1), multipart("AS", textPart,
		part("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64", b64(mp3At(3, codec.MP3Options{})))))
	m["desktop-mp3-conforming"] = msg(strings.Replace(mp3Hdr, "%s", "dt10", 1), multipart("AS", textPart,
		part("Content-Type: audio/mpeg; name=\"msg0000.mp3\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"msg0000.mp3\"\r\nContent-Duration: 3",
			b64(mp3At(3, codec.MP3Options{SampleRate: 32000, Bitrate: 32})))))
	m["desktop-mpeg25"] = msg(strings.Replace(mp3Hdr, "%s", "dt11", 1), multipart("AS", textPart,
		wavPart("audio/mpeg; name=audio.mp3", "attachment; filename=audio.mp3", mpeg25(2))))
	// Audio the codec cannot decode, marked critical: delivered as it
	// came, not refused (a desktop destination is no gateway).
	m["desktop-ogg-required"] = msg(strings.Replace(mp3Hdr, "%s", "dt12", 1), multipart("AS", textPart,
		wavPart(`audio/ogg; name="msg0000.ogg"`, `inline; voice=Voice-Message; handling=REQUIRED; filename="msg0000.ogg"`, oggVorbisHead())))
	m["desktop-private"] = msg(v2Header("dt13", desktopRcpt, "Sensitivity: Private"), multipart("VB", adpcmPart("Voice-Message", 2)))
	m["desktop-private-capable"] = msg(v2Header("dt14", "bea@desk2.example.net", "Sensitivity: Private"), multipart("VB", adpcmPart("Voice-Message", 2)))
	m["desktop-single-part-basic"] = msg(`From: "Ted" <ted@pbx.example.com>
To: ann@desk.example.net
Date: Mon, 23 Nov 2026 10:20:20 +0100
Subject: voice
Message-ID: <dt15@pbx.example.com>
MIME-Version: 1.0
Content-Type: audio/basic
Content-Transfer-Encoding: base64
Content-Disposition: inline; filename=voice.au`, b64(tone(codec.Basic, 2))+"\r\n")
	m["desktop-wav-mode-wav49"] = msg(strings.Replace(astHdr, "%s", "dt16", 1), multipart("----voicemail_1", astText,
		wavPart(`audio/x-WAV; name="msg0000.WAV"`, `attachment; filename="msg0000.WAV"`, tone(codec.WAVGSM, 4))))
	m["desktop-wav-mode-conforming"] = msg(strings.Replace(astHdr, "%s", "dt17", 1), multipart("----voicemail_1", astText,
		part("Content-Type: audio/wav; name=\"msg0000.wav\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"msg0000.wav\"\r\nContent-Duration: 3",
			b64(tone(codec.WAVULaw, 3)))))
	m["desktop-bitrate-32"] = msg(strings.Replace(astHdr, "%s", "dt18", 1), multipart("----voicemail_1", astText,
		wavPart(`audio/x-wav; name="msg0000.wav"`, `attachment; filename="msg0000.wav"`, tone(codec.WAVPCM16, 2))))
	m["desktop-dsn-spoken"] = msg(`From: MAILER-DAEMON@vm2.example.net
To: ann@desk.example.net
Date: Mon, 23 Nov 2026 10:00:00 +0000
Subject: Returned voice message
Message-ID: <dt19@vm2.example.net>
MIME-Version: 1.0 (Voice 2.0)
Content-Type: multipart/report; report-type=delivery-status; boundary="R"`, multipart("R",
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=Voice-Message-Notification; filename=nondeliv.726", b64(tone(codec.ADPCM32, 2))),
		"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; vm2.example.net\r\n\r\nFinal-Recipient: rfc822; 1@vm2.example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n",
		"Content-Type: text/rfc822-headers\r\n\r\nSubject: original\r\n"))
	inner := "From: carl@vm2.example.net\r\nSubject: original\r\nDate: Mon, 23 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0 (Voice 2.0)\r\nContent-Type: multipart/voice-message; version=2.0; boundary=IN\r\n\r\n" +
		multipart("IN", adpcmPart("Voice-Message", 2))
	m["desktop-forwarded"] = msg(v2Header("dt20", desktopRcpt), multipart("VB", adpcmPart("Voice-Message", 1), part("Content-Type: message/rfc822", inner)))
	m["desktop-duplicate-fields"] = msg(strings.Replace(ivmHeader("dt21", desktopRcpt), "To: "+desktopRcpt, "To: "+desktopRcpt+"\nTo: cy@desk.example.net", 1),
		multipart("MB", basicPart("Voice-Message", "REQUIRED", 1)))
}

func init() {
	goldenPolicy["desktop-private-capable"] = func(o *Options) {
		o.Targets["desk2.example.net"] = TargetDesktop
		o.PrivacyCapable = append(o.PrivacyCapable, "desk2.example.net")
	}
	goldenPolicy["desktop-wav-mode-wav49"] = func(o *Options) { o.DesktopAudio = DesktopAudioWAV }
	goldenPolicy["desktop-wav-mode-conforming"] = func(o *Options) { o.DesktopAudio = DesktopAudioWAV }
	goldenPolicy["desktop-bitrate-32"] = func(o *Options) { o.MP3Bitrate = 32 }
}

// TestDesktopTarget: the desktop target's decisions, beyond what the golden
// reports show: the voice arrives in the configured form whatever it came
// in; what already is that form is kept byte for byte; a desktop domain is
// not privacy-capable unless listed; Evaluate does not encode MP3 (the
// body writer does).
func TestDesktopTarget(t *testing.T) {
	msgs := corpus()
	e := goldenEngine(t, "desktop-asterisk-wav49")
	for _, name := range []string{"desktop-asterisk-wav49", "desktop-asterisk-pcm", "desktop-vpim2", "desktop-ivm", "desktop-exchange",
		"desktop-fritzbox-alaw", "desktop-mpeg25", "desktop-single-part-basic", "desktop-forwarded", "desktop-v1-empty-segments"} {
		_, _, out := deliver(t, e, msgs[name], desktopRcpt)
		if out == nil {
			t.Fatalf("%s: not delivered", name)
		}
		m, err := Parse(inputFrom(t, out).Header, bytes.NewReader(bodyOf(out)), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Root.Type != "multipart/mixed" {
			t.Errorf("%s: top level %s, want multipart/mixed", name, m.Root.Type)
		}
		audio := 0
		m.Walk(func(p *Part, _ int) bool {
			if !p.IsLeaf() || !strings.HasPrefix(p.Type, "audio/") {
				return true
			}
			audio++
			a := inspectAudio(p)
			fn := p.DispositionParams["filename"]
			if p.Type != "audio/mpeg" || a.format != "mp3" || a.rate != 16000 || !strings.HasSuffix(fn, ".mp3") || p.Duration < 1 {
				t.Errorf("%s: part %s is %s (%s at %d Hz) named %q, Content-Duration %d; want 16 kHz audio/mpeg named .mp3 with a duration",
					name, p.Path, p.Type, a.format, a.rate, fn, p.Duration)
			}
			return true
		})
		if audio == 0 {
			t.Errorf("%s: no audio delivered", name)
		}
	}

	// Kept byte for byte: an MPEG-1 MP3 already labelled, named and timed.
	raw := msgs["desktop-mp3-conforming"]
	rep, _, out := deliver(t, e, raw, desktopRcpt)
	if !bytes.Equal(out, raw) || rep.Plan.Verdict() != VerdictAccept {
		t.Errorf("conforming MP3: verdict %s, actions %v; want accept, byte-identical", rep.Plan.Verdict(), actionStrings(rep))
	}

	// Private voice mail: refused for a desktop domain unless it is listed
	// as privacy-capable.
	rep, _, _ = deliver(t, e, msgs["desktop-private"], desktopRcpt)
	if got := rep.Plan.Decision.Reply.String(); !strings.HasPrefix(got, "550 5.6.0 ") {
		t.Errorf("private to desktop: %q, want 550 5.6.0", got)
	}
	o := testOptions()
	o.PrivacyCapable = append(o.PrivacyCapable, "desk.example.net")
	capable, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if rep, _, out := deliver(t, capable, msgs["desktop-private"], desktopRcpt); out == nil {
		t.Errorf("private to a privacy-capable desktop domain: %s", rep.Plan.Decision.Reply)
	}

	// One body per transaction: an IVM recipient after a desktop one, and a
	// desktop recipient after an IVM one, are deferred (452 4.5.3); a second
	// desktop recipient and a bridge recipient join.
	desk := Rcpt{Addr: desktopRcpt}
	for _, tc := range []struct {
		accepted []Rcpt
		rcpt     string
		want     string
	}{
		{[]Rcpt{desk}, "carol@mail.example.org", "452 4.5.3"},
		{[]Rcpt{{Addr: "carol@mail.example.org"}}, desktopRcpt, "452 4.5.3"},
		{[]Rcpt{desk}, "cy@desk.example.net", ""},
		{[]Rcpt{desk}, "VOICE=+15145551234@voice.example.com", ""},
	} {
		res := e.Recipient("a@example.org", Rcpt{Addr: tc.rcpt}, tc.accepted)
		got := ""
		if res.Reject != nil {
			got = fmt.Sprintf("%d %s", res.Reject.Code, res.Reject.Enhanced)
		}
		if got != tc.want {
			t.Errorf("%s after %v: %q (%+v), want %q", tc.rcpt, tc.accepted, got, res, tc.want)
		}
	}

	// Evaluate tries the decoder only; the MP3 is encoded when the body is
	// written, by the codec the rewrite asks for "mp3-24".
	counting := &countingCodec{AudioCodec: realCodec()}
	o = testOptions()
	o.Codec = counting
	ce, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	in := inputFrom(t, msgs["desktop-asterisk-wav49"], desktopRcpt)
	rep, err = ce.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(counting.to, ","); got != "basic" {
		t.Errorf("Evaluate asked the codec for %q, want one trial to basic", got)
	}
	if err := rep.Plan.Body.WriteBody(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(counting.to, ","); got != "basic,mp3-24" {
		t.Errorf("Evaluate and the body writer asked the codec for %q, want basic,mp3-24", got)
	}
}

// countingCodec records what it is asked to write.
type countingCodec struct {
	AudioCodec
	to []string
}

func (c *countingCodec) Transcode(dst io.Writer, to string, src io.Reader, from string) (int64, error) {
	c.to = append(c.to, to)
	return c.AudioCodec.Transcode(dst, to, src, from)
}

// bodyOf returns what follows the header of a whole message.
func bodyOf(raw []byte) []byte {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[i+4:]
	}
	return nil
}
