package profile

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/messages (*.eml and *.golden)")

const messagesDir = "../testdata/messages"

// b64 encodes data in 76-character CRLF lines.
func b64(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

// part renders one MIME part.
func part(header, body string) string { return header + "\r\n\r\n" + body }

// multipart renders a multipart body with boundary b.
func multipart(b string, parts ...string) string {
	var s strings.Builder
	for _, p := range parts {
		s.WriteString("--" + b + "\r\n" + p + "\r\n")
	}
	s.WriteString("--" + b + "--\r\n")
	return s.String()
}

func msg(header, body string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimSpace(header), "\n", "\r\n") + "\r\n\r\n" + body)
}

func ulawRaw(secs int) []byte { return bytes.Repeat([]byte{0xFF, 0x7F, 0xEE, 0x6E}, secs*2000) }
func adpcmRaw(secs int) []byte {
	return bytes.Repeat([]byte{0x88, 0x19, 0xA7, 0x3C}, secs*1000)
}

const (
	hdrV2 = `From: "Alice Example" <2145551212@vm2.example.net>
To: 3135551234@vm2.example.net
Date: Mon, 23 Nov 2026 10:20:20 -0500
Subject: Voice Message
Message-ID: <v2-%s@vm2.example.net>
MIME-Version: 1.0 (Voice 2.0)
Content-Type: multipart/voice-message; version=2.0; boundary="VB"`
	hdrIVM = `From: "Bob Example" <bob@mail.example.org>
To: carol@mail.example.org
Date: Mon, 23 Nov 2026 10:20:20 +0100
Subject: Voice message from Bob
Message-ID: <ivm-%s@mail.example.org>
MIME-Version: 1.0
Message-Context: voice-message
Content-Type: multipart/mixed; boundary="MB"`
)

func v2Audio(role string, data []byte, dur int) string {
	return part(fmt.Sprintf("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=%s; filename=msg.726\r\nContent-Duration: %d", role, dur), b64(data))
}

func ivmAudio(data []byte, dur int) string {
	return part(fmt.Sprintf("Content-Type: audio/basic; name=msg1.au\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=Voice-Message; handling=REQUIRED; filename=msg1.au\r\nContent-Duration: %d", dur), b64(data))
}

func wavPart(ct, disp string, data []byte) string {
	return part("Content-Type: "+ct+"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: "+disp, b64(data))
}

const textPart = "Content-Type: text/plain; charset=us-ascii\r\n\r\nYou have a new voice message."

// corpus returns the project's own test messages, written by this code.
func corpus() map[string][]byte {
	h := func(tmpl, name string) string { return fmt.Sprintf(tmpl, name) }
	m := map[string][]byte{}
	m["ivm-conforming"] = msg(h(hdrIVM, "1"), multipart("MB", ivmAudio(ulawRaw(3), 3)))
	m["vpim2-conforming"] = msg(h(hdrV2, "1"), multipart("VB", v2Audio("Voice-Message", adpcmRaw(4), 4)))
	m["vpim2-to-ivm"] = msg(strings.Replace(h(hdrV2, "2"), "To: 3135551234@vm2.example.net", "To: dave@mail.example.org", 1),
		multipart("VB", v2Audio("Originator-Spoken-Name", adpcmRaw(1), 1), v2Audio("Voice-Message", adpcmRaw(5), 5)))
	m["vpim2-private-to-ivm"] = msg(strings.Replace(h(hdrV2, "3"), "To: 3135551234@vm2.example.net", "To: dave@mail.example.org\nSensitivity: Private", 1),
		multipart("VB", v2Audio("Voice-Message", adpcmRaw(2), 2)))
	m["vpim2-private-to-capable"] = msg(h(hdrV2, "4")+"\nSensitivity: private", multipart("VB", v2Audio("Voice-Message", adpcmRaw(2), 2)))
	m["vpim2-personal-to-ivm"] = msg(strings.Replace(h(hdrV2, "5"), "To: 3135551234@vm2.example.net", "To: dave@mail.example.org\nSensitivity: Personal", 1),
		multipart("VB", v2Audio("Voice-Message", adpcmRaw(2), 2)))
	m["v1-private"] = msg(`From: 2175552345@vm1.example.com
To: 2145551212@mail.example.org
Date: Mon, 23 Nov 2026 10:20:20 -0600
Message-ID: <1234@vm1.example.com>
MIME-Version: 1.0 (Voice 1.0)
Sensitivity: Private
Content-Type: multipart/voice-message; boundary="B1"`,
		multipart("B1", part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", b64(adpcmRaw(1)))))
	m["v1-draft-personal"] = msg(`From: 2175552345@vm1.example.com
To: 2145551212@mail.example.org
Date: Mon, 23 Nov 2026 10:20:20 -0600
Message-ID: vm1.example.com-12345678
MIME-Version: 1.0 (Voice Profile Version 1)
Sensitivity: Personal
Content-Type: multipart/mixed; boundary="B1"`,
		multipart("B1", part("Content-Type: Audio/ADPCM\r\nContent-Transfer-Encoding: Base-64", b64(adpcmRaw(2)))))
	m["v1-positional-to-vpim2"] = msg(`From: 2175552345@vm1.example.com
To: 2145551212@vm2.example.net
Date: Mon, 23 Nov 2026 10:20:20 -0600
Message-ID: vm1.example.com-87654321
MIME-Version: 1.0 (Voice 1.0)
Content-Type: multipart/voice-message; boundary="B1"`,
		multipart("B1", part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: Base-64", b64(adpcmRaw(1))),
			part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: Base-64", b64(adpcmRaw(2))),
			part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: Base-64", b64(adpcmRaw(6)))))
	astHdr := `Date: Mon, 23 Nov 2026 10:15:32 +0100
From: "Voicemail" <vm@pbx.example.com>
To: "Eve" <eve@mail.example.org>
Subject: [PBX]: New message 1 in mailbox 1001
Message-ID: <Asterisk-1-42-1001-4242@pbx.example.com>
X-Asterisk-CallerID: 0612345678
X-Asterisk-CallerIDName: Frank
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----voicemail_1"`
	m["asterisk-wav-pcm16"] = msg(astHdr, multipart("----voicemail_1", part("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit", "You have a 0:03 long message."),
		wavPart(`audio/x-wav; name="msg0000.wav"`, `attachment; filename="msg0000.wav"`, wavBytes(1, 3))))
	m["asterisk-wav49-gsm"] = msg(astHdr, multipart("----voicemail_1", part("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit", "You have a 0:04 long message."),
		wavPart(`audio/x-WAV; name="msg0000.WAV"`, `attachment; filename="msg0000.WAV"`, wavBytes(0x31, 4))))
	m["asterisk-to-vpim2"] = msg(strings.Replace(astHdr, `"Eve" <eve@mail.example.org>`, "3135551234@vm2.example.net", 1),
		multipart("----voicemail_1", part("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit", "You have a message."),
			wavPart(`audio/x-wav; name="msg0000.wav"`, `attachment; filename="msg0000.wav"`, wavBytes(7, 2))))
	m["exchange-um"] = msg(`From: "Unified Messaging" <um@exchange.example.com>
To: grace@mail.example.org
Date: Mon, 23 Nov 2026 09:00:00 +0000
Subject: Voice Mail from 5551234 (6 seconds)
Message-ID: <um-1@exchange.example.com>
Content-Class: voice-ca
X-CallingTelephoneNumber: 5551234
X-VoiceMessageDuration: 6
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="EX"`, multipart("EX", textPart, wavPart("audio/wav; name=audio.wav", "attachment; filename=audio.wav", wavBytes(7, 6))))
	mp3 := append([]byte("ID3\x03\x00\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{0xFF, 0xFB, 0x90, 0x00}, 500)...)
	m["music-attachment"] = msg(`From: heidi@mail.example.org
To: ivan@mail.example.org
Date: Mon, 23 Nov 2026 09:00:00 +0000
Subject: our song
Message-ID: <song@mail.example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="MX"`, multipart("MX", textPart, wavPart("audio/mpeg; name=song.mp3", "attachment; filename=song.mp3", mp3)))
	m["plain-text"] = msg(`From: heidi@mail.example.org
To: ivan@mail.example.org
Date: Mon, 23 Nov 2026 09:00:00 +0000
Subject: lunch
Message-ID: <lunch@mail.example.org>`, "Lunch at noon?\r\n")
	m["plain-private"] = msg(`From: heidi@mail.example.org
To: ivan@mail.example.org
Date: Mon, 23 Nov 2026 09:00:00 +0000
Subject: secret
Message-ID: <secret@mail.example.org>
Sensitivity: Private
MIME-Version: 1.0
Content-Type: text/plain`, "Just between us.\r\n")
	m["lying-label-wav-as-basic"] = msg(h(hdrIVM, "lie"), multipart("MB",
		part("Content-Type: audio/basic\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=Voice-Message; handling=REQUIRED; filename=msg1.au\r\nContent-Duration: 2", b64(wavBytes(7, 2)))))
	m["lying-label-pdf-as-wav"] = msg(h(hdrIVM, "pdf"), multipart("MB",
		wavPart("audio/wav", "inline; voice=Voice-Message; handling=REQUIRED; filename=msg1.wav", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 300)...))))
	m["truncated-base64"] = msg(h(hdrV2, "trunc"), multipart("VB",
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=Voice-Message", b64(adpcmRaw(1))[:101])))
	m["missing-close-boundary"] = msg(h(hdrV2, "close"), strings.TrimSuffix(multipart("VB", v2Audio("Voice-Message", adpcmRaw(2), 2)), "--VB--\r\n"))
	m["zero-length-audio"] = msg(h(hdrIVM, "zero"), multipart("MB", ivmAudio(nil, 0)))
	m["multiple-to-ivm"] = msg(strings.Replace(h(hdrIVM, "to"), "To: carol@mail.example.org", "To: carol@mail.example.org\nTo: judy@mail.example.org", 1), multipart("MB", ivmAudio(ulawRaw(1), 1)))
	m["draft-message-id"] = msg(strings.Replace(h(hdrIVM, "x"), "Message-ID: <ivm-x@mail.example.org>", "Message-ID: mail.example.org-00001234", 1), multipart("MB", ivmAudio(ulawRaw(1), 1)))
	m["bare-message-id"] = msg(strings.Replace(h(hdrV2, "x"), "<v2-x@vm2.example.net>", "42@vm2.example.net", 1), multipart("VB", v2Audio("Voice-Message", adpcmRaw(1), 1)))
	m["missing-message-id"] = msg(strings.Replace(h(hdrIVM, "x"), "Message-ID: <ivm-x@mail.example.org>\n", "", 1), multipart("MB", ivmAudio(ulawRaw(1), 1)))
	m["importance-case"] = msg(h(hdrIVM, "imp")+"\nImportance: HIGH", multipart("MB", ivmAudio(ulawRaw(1), 1)))
	m["importance-invalid"] = msg(h(hdrIVM, "imp2")+"\nImportance: urgent", multipart("MB", ivmAudio(ulawRaw(1), 1)))
	m["v1-importance-invalid"] = msg(`From: 2175552345@vm1.example.com
To: 2145551212@v1.example.net
Date: Mon, 23 Nov 2026 10:20:20 -0600
Message-ID: <imp@vm1.example.com>
MIME-Version: 1.0 (Voice 1.0)
Importance: urgent
Content-Type: multipart/voice-message; boundary="B1"`,
		multipart("B1", part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", ""),
			part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", ""),
			part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", b64(adpcmRaw(1)))))
	m["mvm-no-version-to-vpim2"] = msg(strings.Replace(h(hdrV2, "nv"), `version=2.0; `, "", 1), multipart("VB", v2Audio("Voice-Message", adpcmRaw(3), 3)))
	m["ivm-to-vpim2"] = msg(strings.Replace(h(hdrIVM, "tov2"), "To: carol@mail.example.org", "To: 3135551234@vm2.example.net", 1), multipart("MB", textPart, ivmAudio(ulawRaw(2), 2)))
	m["ivm-required-text-to-vpim2"] = msg(strings.Replace(h(hdrIVM, "req"), "To: carol@mail.example.org", "To: 3135551234@vm2.example.net", 1),
		multipart("MB", "Content-Type: text/plain\r\nContent-Disposition: inline; handling=REQUIRED\r\n\r\nRead me.", ivmAudio(ulawRaw(2), 2)))
	inner := "From: mallory@vm2.example.net\r\nSubject: secret\r\nDate: Mon, 23 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\nSensitivity: Private\r\nContent-Type: multipart/voice-message; version=2.0; boundary=IN\r\n\r\n" +
		multipart("IN", v2Audio("Voice-Message", adpcmRaw(1), 1))
	m["forwarded-private"] = msg(h(hdrV2, "fwd"), multipart("VB", v2Audio("Voice-Message", adpcmRaw(1), 1), part("Content-Type: message/rfc822", inner)))
	m["forwarded-incomplete"] = msg(h(hdrV2, "fwd2"), multipart("VB", v2Audio("Voice-Message", adpcmRaw(1), 1), part("Content-Type: message/rfc822", "X-Note: no headers\r\n\r\nhello")))
	m["resent-private-to-capable"] = msg(h(hdrV2, "resent")+"\nSensitivity: Private\nResent-From: oscar@vm2.example.net\nResent-To: 3135551234@vm2.example.net", multipart("VB", v2Audio("Voice-Message", adpcmRaw(1), 1)))
	m["dsn-spoken-to-ivm"] = msg(`From: MAILER-DAEMON@vm2.example.net
To: peggy@mail.example.org
Date: Mon, 23 Nov 2026 10:00:00 +0000
Subject: Returned voice message
Message-ID: <dsn-1@vm2.example.net>
MIME-Version: 1.0 (Voice 2.0)
Content-Type: multipart/report; report-type=delivery-status; boundary="R"`, multipart("R",
		part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=Voice-Message-Notification", b64(adpcmRaw(2))),
		"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; vm2.example.net\r\n\r\nFinal-Recipient: rfc822; 1@vm2.example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n",
		"Content-Type: text/rfc822-headers\r\n\r\nSubject: original\r\n"))
	m["mdn-text"] = msg(`From: peggy@mail.example.org
To: 2145551212@vm2.example.net
Date: Mon, 23 Nov 2026 10:00:00 +0000
Subject: Read
Message-ID: <mdn-1@mail.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="R"`, multipart("R", textPart,
		"Content-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822; peggy@mail.example.org\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n"))
	m["bridge-voice"] = msg(strings.Replace(h(hdrIVM, "br"), "To: carol@mail.example.org", "To: VOICE=+15145551234@voice.example.com", 1), multipart("MB", ivmAudio(ulawRaw(2), 2)))
	m["bridge-private"] = msg(strings.Replace(h(hdrIVM, "brp"), "To: carol@mail.example.org", "To: VOICE=+15145551234@voice.example.com\nSensitivity: Private", 1), multipart("MB", ivmAudio(ulawRaw(2), 2)))
	m["bridge-and-ivm"] = msg(strings.Replace(h(hdrV2, "mix"), "To: 3135551234@vm2.example.net", "To: VPIM=+15145551234@voice.example.com, quinn@mail.example.org", 1), multipart("VB", v2Audio("Voice-Message", adpcmRaw(2), 2)))
	m["passthrough"] = msg(strings.Replace(h(hdrV2, "pt"), "To: 3135551234@vm2.example.net", "To: 1@pass.example.net", 1), multipart("VB", v2Audio("Voice-Message", adpcmRaw(2), 9)))
	m["vpim2-to-vpim1"] = msg(strings.Replace(h(hdrV2, "v1"), "To: 3135551234@vm2.example.net", "To: 2145551234@v1.example.net", 1), multipart("VB", v2Audio("Voice-Message", adpcmRaw(2), 2)))
	m["fax-without-faxbw"] = msg(h(hdrV2, "fax"), multipart("VB", v2Audio("Voice-Message", adpcmRaw(1), 1), part("Content-Type: image/tiff\r\nContent-Transfer-Encoding: base64", b64([]byte("II*\x00 fax page")))))
	m["qp-audio"] = msg(h(hdrIVM, "qp"), multipart("MB", part("Content-Type: audio/basic\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Disposition: inline; voice=Voice-Message; handling=REQUIRED\r\nContent-Duration: 1", strings.Repeat("=FF=7F", 100))))
	m["qp-audio-control-bytes"] = msg(h(hdrV2, "qpbad"), multipart("VB", part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Disposition: inline; voice=Voice-Message; filename=msg.726", "ab\x01cd=20ef\x00gh")))
	m["wrong-duration"] = msg(h(hdrIVM, "dur"), multipart("MB", ivmAudio(ulawRaw(4), 30)))
	m["single-part-wav-to-ivm"] = msg(`From: "Ted" <ted@pbx.example.com>
To: uma@mail.example.org
Date: Mon, 23 Nov 2026 11:00:00 +0000
Subject: message
Message-ID: <single@pbx.example.com>
X-Asterisk-CallerID: 100
MIME-Version: 1.0
Content-Type: audio/x-wav; name=msg.wav
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=msg.wav`, b64(wavBytes(7, 2))+"\r\n")
	m["non-voice-attachment-in-mvm"] = msg(h(hdrV2, "pdf"), multipart("VB", v2Audio("Voice-Message", adpcmRaw(1), 1),
		part("Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64", b64([]byte("%PDF-1.4 tiny"))), "Content-Type: text/directory\r\n\r\nBEGIN:VCARD\r\nEND:VCARD"))
	m["unknown-voice-value"] = msg(h(hdrIVM, "greet"), multipart("MB", wavPart("audio/wav; name=g.wav", "inline; voice=Greeting-Message; filename=g.wav", wavBytes(7, 1))))
	m["single-part-wav-to-vpim2"] = msg(strings.Replace(string(m["single-part-wav-to-ivm"][:bytes.Index(m["single-part-wav-to-ivm"], []byte("\r\n\r\n"))]), "uma@mail.example.org", "3135551234@vm2.example.net", 1), b64(wavBytes(7, 3))+"\r\n")
	m["single-part-adpcm-to-vpim2"] = msg(`From: 2145551212@vm1.example.com
To: 3135551234@vm2.example.net
Date: Mon, 23 Nov 2026 11:00:00 +0000
Message-ID: <adpcm-single@vm1.example.com>
MIME-Version: 1.0
Content-Type: audio/32KADPCM
Content-Transfer-Encoding: base64
Content-Description: spoken message`, b64(adpcmRaw(3))+"\r\n")
	m["forwarded-to-ivm"] = msg(strings.Replace(h(hdrV2, "fwdivm"), "To: 3135551234@vm2.example.net", "To: walt@mail.example.org", 1),
		multipart("VB", v2Audio("Voice-Message", adpcmRaw(1), 1), part("Content-Type: message/rfc822", strings.Replace(inner, "Sensitivity: Private\r\n", "", 1))))
	m["bridge-plain-text"] = msg(`From: heidi@mail.example.org
To: VOICE=+15145551234/POSTD=p1234@voice.example.com
Date: Mon, 23 Nov 2026 09:00:00 +0000
Subject: call me
Message-ID: <call@mail.example.org>`, "Please call back.\r\n")
	m["vpim2-text-in-mvm"] = msg(h(hdrV2, "txt"), multipart("VB", v2Audio("Voice-Message", adpcmRaw(1), 1), textPart))
	m["vpim2-no-from-date"] = msg(strings.NewReplacer("From: \"Alice Example\" <2145551212@vm2.example.net>\n", "", "Date: Mon, 23 Nov 2026 10:20:20 -0500\n", "").Replace(h(hdrV2, "nofrom")),
		multipart("VB", v2Audio("Voice-Message", adpcmRaw(1), 1)))
	m["v1-draft-signature"] = msg(`To: 2145551212@v1.example.net
To: 2145551213@v1.example.net
From: 2175552345@vm1.example.com
Date: Mon, 23 Nov 26 10:20:20 CST
MIME-Version: 1.0 (Voice Profile Version 1)
Content-Type: Multipart/Mixed; Boundary = "SIG"
Message-ID: vm1.example.com-11112222
Generate-Receipt-Notification:
Return-content: Full`, multipart("SIG",
		"Content-Type: Text/Signature\r\n\r\nName: User, Joe\r\nSpokenName: AAAA\r\n",
		part("Content-Type: Audio/ADPCM\r\nContent-Transfer-Encoding: Base-64", b64(adpcmRaw(2))),
		"Content-Type: Message/Notification\r\n\r\nStatus: delivered\r\n"))
	m["bad-content-type"] = msg(h(hdrIVM, "ct"), multipart("MB",
		part("Content-Type: audio/basic; name=\"unterminated\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=Voice-Message; handling=REQUIRED\r\nContent-Duration: 1", b64(ulawRaw(1)))))
	m["no-boundary-found"] = msg(h(hdrV2, "nob"), "This body never uses its boundary.\r\n")
	var deep strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&deep, "--d%d\r\nContent-Type: multipart/mixed; boundary=d%d\r\n\r\n", i, i+1)
	}
	deep.WriteString("--d60\r\nContent-Type: audio/basic\r\n\r\nabcd\r\n--d60--\r\n")
	for i := 59; i >= 0; i-- {
		fmt.Fprintf(&deep, "--d%d--\r\n", i)
	}
	m["deep-nesting"] = msg(strings.Replace(h(hdrIVM, "deep"), `boundary="MB"`, "boundary=d0", 1), deep.String())

	// V2-PROP (RFC 3801 4.5.3): audio a VPIM v2 destination cannot render.
	unknown := bytes.Repeat([]byte{0x01, 0x02, 0x03, 0x04}, 2000)
	m["vpim2-unknown-audio"] = msg(h(hdrV2, "unk"), multipart("VB",
		wavPart("audio/x-unknown", "inline; voice=Voice-Message; filename=msg.xun", unknown)))
	badRate := wavBytes(7, 2)
	badRate[32] = 2 // block align 2 for one channel of G.711: the codec refuses it
	m["vpim2-codec-rejects"] = msg(h(hdrV2, "codec"), multipart("VB",
		wavPart("audio/wav; name=msg.wav", "inline; voice=Voice-Message; filename=msg.wav", badRate)))
	m["ivm-to-vpim2-optional-unknown"] = msg(strings.Replace(h(hdrIVM, "opt"), "To: carol@mail.example.org", "To: 3135551234@vm2.example.net", 1),
		multipart("MB", ivmAudio(ulawRaw(2), 2),
			wavPart("audio/x-unknown", "inline; voice=Originator-Spoken-Name; handling=OPTIONAL; filename=name.xun", unknown[:800])))
	// I-DSN (RFC 4239 6): critical audio that cannot become audio/basic.
	m["ivm-required-unknown-audio"] = msg(h(hdrIVM, "requnk"), multipart("MB",
		wavPart("audio/x-unknown", "inline; voice=Voice-Message; handling=REQUIRED; filename=msg1.xun", unknown)))
	m["ivm-unknown-audio"] = msg(h(hdrIVM, "unk"), multipart("MB",
		wavPart("audio/x-unknown", "inline; voice=Voice-Message; filename=msg1.xun", unknown)))
	// I-IMF (RFC 4239 3): strict RFC 2822 syntax for an IVM target.
	m["v1-draft-to-ivm-imf"] = msg(`From: 2175552345@vm1.example.com
To: xavier@mail.example.org
To: yvonne@mail.example.org
Date: Mon, 23 Nov 26 10:20:20 CST
Message-ID: vm1.example.com-22223333
MIME-Version: 1.0 (Voice Profile Version 1)
Content-Type: multipart/mixed; boundary="B1"`,
		multipart("B1", part("Content-Type: Audio/ADPCM\r\nContent-Transfer-Encoding: base64", b64(adpcmRaw(2)))))
	// I-CODEC-TX (RFC 4239 7): raw µ-law audio/basic named .au.
	m["ivm-basic-wav-filename"] = msg(h(hdrIVM, "auname"), multipart("MB",
		part("Content-Type: audio/basic; name=voice.wav\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=Voice-Message; handling=REQUIRED; filename=voice.wav\r\nContent-Duration: 2", b64(ulawRaw(2)))))
	// D1-HDR-FROM: a v1 message without From.
	m["v1-no-from"] = msg(`To: 2145551212@v1.example.net
Date: Mon, 23 Nov 2026 10:20:20 -0600
Message-ID: <nofrom@vm1.example.com>
MIME-Version: 1.0 (Voice 1.0)
Content-Type: multipart/voice-message; boundary="B1"`,
		multipart("B1", part("Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64", b64(adpcmRaw(1)))))
	defectCorpus(m)
	desktopCorpus(m)
	return m
}

// goldenPolicy adjusts the test policy for the messages that need another
// one (by name).
var goldenPolicy = map[string]func(*Options){}

// goldenEngine is the engine of one golden message.
func goldenEngine(t testing.TB, name string) *Engine {
	t.Helper()
	o := testOptions()
	if f := goldenPolicy[name]; f != nil {
		f(&o)
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// corpusRun is one stored message run as the milter would: the RCPT-time
// decision for each To/Cc recipient in order (one body target per
// transaction), then the evaluation with the accepted ones.
type corpusRun struct {
	in      *Input
	refused []string // "rcpt ADDR: REPLY" for the recipients refused at RCPT
	rep     *Report  // nil when every recipient was refused
	out     []byte   // the message as delivered; nil when it is not delivered
	body    bool     // the plan replaced the body
}

// runMessage runs raw through e.
func runMessage(t testing.TB, e *Engine, raw []byte) *corpusRun {
	t.Helper()
	r := &corpusRun{in: inputFrom(t, raw)}
	in := r.in
	in.Envelope.From = "sender@example.org"
	in.Arrival = time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	for _, a := range HeaderRecipients(in.Header) {
		res := e.Recipient(in.Envelope.From, Rcpt{Addr: a}, in.Envelope.Rcpts)
		if res.Reject != nil {
			r.refused = append(r.refused, fmt.Sprintf("rcpt %s: %s", a, res.Reject))
			continue
		}
		in.Envelope.Rcpts = append(in.Envelope.Rcpts, Rcpt{Addr: a})
	}
	if len(in.Envelope.Rcpts) == 0 {
		return r
	}
	rep, err := e.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	r.rep = rep
	if !rep.Plan.Verdict().Delivered() {
		return r
	}
	h := rep.Plan.ApplyHeader(in.Header)
	var body bytes.Buffer
	if rep.Plan.Body != nil {
		r.body = true
		if err := rep.Plan.Body.WriteBody(&body); err != nil {
			t.Fatal(err)
		}
	} else {
		if _, err := in.Body.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		io.Copy(&body, in.Body)
	}
	var whole bytes.Buffer
	if err := FormatMessage(&whole, h, &body); err != nil {
		t.Fatal(err)
	}
	r.out = whole.Bytes()
	return r
}

// output parses the delivered message.
func (r *corpusRun) output(t testing.TB) *Message {
	t.Helper()
	if r.out == nil {
		t.Fatalf("message not delivered: %s", r.verdict())
	}
	in := inputFrom(t, r.out)
	m, err := Parse(in.Header, in.Body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// verdict is the verdict and reply of the run, or the RCPT refusals.
func (r *corpusRun) verdict() string {
	if r.rep == nil {
		return "all recipients refused: " + strings.Join(r.refused, "; ")
	}
	return strings.TrimSpace(string(r.rep.Plan.Verdict()) + " " + r.rep.Plan.Decision.Reply.String())
}

// goldenReport renders a run: the RCPT refusals, the report, the
// structure of the rewritten message and whether the delivered message is
// byte-identical to the input.
func goldenReport(t *testing.T, e *Engine, raw []byte) string {
	t.Helper()
	r := runMessage(t, e, raw)
	got := ""
	for _, s := range r.refused {
		got += s + "\n"
	}
	if r.rep == nil {
		return got
	}
	got += formatReport(r.rep)
	if r.out == nil {
		return got
	}
	if r.body {
		in := inputFrom(t, r.out)
		b, _ := io.ReadAll(in.Body)
		got += "body:\n" + summarize(t, in.Header, b)
	}
	if bytes.Equal(r.out, raw) {
		got += "output: identical to the input\n"
	} else {
		got += "output: modified\n"
	}
	return got
}

// TestMessagesGolden evaluates every testdata/messages/*.eml with the test
// policy (recipients from To/Cc) and compares with <name>.golden.
func TestMessagesGolden(t *testing.T) {
	if *update {
		if err := os.MkdirAll(messagesDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range corpus() {
			if err := os.WriteFile(filepath.Join(messagesDir, name+".eml"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(messagesDir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("only %d messages in %s, want at least 30 (run with -update)", len(files), messagesDir)
	}
	sort.Strings(files)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := goldenReport(t, goldenEngine(t, name), raw)
			golden := filepath.Join(messagesDir, name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("report differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

// summarize re-parses a rewritten message and lists its parts, so the
// golden file records the new structure without the audio bytes.
func summarize(t *testing.T, h []Field, body []byte) string {
	t.Helper()
	m, err := Parse(h, bytes.NewReader(body), Limits{})
	if err != nil {
		t.Fatalf("re-parse: %v", err)
	}
	if bytes.Contains(bytes.ReplaceAll(body, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("rewritten body has bare LF")
	}
	var b strings.Builder
	m.Walk(func(p *Part, d int) bool {
		path := p.Path
		if path == "" {
			path = "0"
		}
		fmt.Fprintf(&b, "  %s%s %s", strings.Repeat("  ", d), path, p.Type)
		if p.Disposition != "" {
			v, _ := p.Get("Content-Disposition")
			fmt.Fprintf(&b, " [%s]", v)
		}
		if p.Duration >= 0 {
			fmt.Fprintf(&b, " dur=%d", p.Duration)
		}
		if !p.IsMultipart() && p.Embedded == nil {
			fmt.Fprintf(&b, " %d bytes", p.Data)
		}
		if p.Unclosed || p.Truncated || p.BadBase64 {
			fmt.Fprintf(&b, " DEFECT")
		}
		b.WriteString("\n")
		return true
	})
	return b.String()
}
