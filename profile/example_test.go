package profile_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/vpim-milter/vpim-milter/profile"
)

// Example evaluates a VPIM v2 message marked Private for an IVM recipient:
// privacy cannot be assured, so it is refused (RFC 3801 4.2.13).
func Example() {
	e, err := profile.New(profile.Options{})
	if err != nil {
		panic(err)
	}
	body := "--B\r\nContent-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: inline; voice=Voice-Message\r\n\r\niIiIiIiI\r\n--B--\r\n"
	in := &profile.Input{
		Envelope: profile.Envelope{From: "1@vm.example.net", Rcpts: []profile.Rcpt{{Addr: "joe@example.org"}}},
		Header: []profile.Field{
			{Name: "From", Value: " <1@vm.example.net>"},
			{Name: "MIME-Version", Value: " 1.0 (Voice 2.0)"},
			{Name: "Sensitivity", Value: " Private"},
			{Name: "Content-Type", Value: ` multipart/voice-message; version=2.0; boundary="B"`},
		},
		Body: strings.NewReader(body),
	}
	rep, err := e.Evaluate(context.Background(), in)
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Profile, rep.Target, rep.Plan.Verdict())
	fmt.Println(rep.Plan.Decision.Reply)
	// Output:
	// vpim2 ivm reject
	// 550 5.6.0 message marked private: privacy could not be assured by example.org; the message was not delivered
}
