package addr_test

import (
	"fmt"

	"github.com/vpim-milter/vpim-milter/profile/addr"
)

func ExampleParse() {
	for _, s := range []string{
		"VOICE=+1-202-455-7622/POSTD=p1w7005393w373@vm.example",
		"+17035245550+230@ema.org",
		"non-mail-user@vm.example.com",
		"+1613763758212345@example.com",
	} {
		a := addr.Parse(s)
		if !a.Valid {
			fmt.Printf("%s: invalid: %s\n", s, a.Error)
			continue
		}
		fmt.Printf("%s: kind=%s service=%q number=%s ext=%q postd=%q special=%q dial=%q canonical=%s\n",
			s, a.Kind, a.Service, a.Number, a.Extension, a.PostDial, a.Special, a.DialString(), a)
	}
	// Output:
	// VOICE=+1-202-455-7622/POSTD=p1w7005393w373@vm.example: kind=pstn service="VOICE" number=+12024557622 ext="" postd="p1w7005393w373" special="" dial="+12024557622" canonical=VOICE=+12024557622/POSTD=p1w7005393w373@vm.example
	// +17035245550+230@ema.org: kind=vpim service="" number=+17035245550 ext="230" postd="" special="" dial="+17035245550" canonical=+17035245550+230@ema.org
	// non-mail-user@vm.example.com: kind=special service="" number= ext="" postd="" special="non-mail-user" dial="" canonical=non-mail-user@vm.example.com
	// +1613763758212345@example.com: invalid: international number has 16 digits; E.164 allows at most 15 (RFC 3801 4.1.1)
}

func ExampleNormalize() {
	allow := addr.Normalize("+1 (613)")
	a := addr.Parse("VOICE=+1-613-763-7582@gw.example")
	fmt.Println(allow, a.DialString(), len(a.DialString()) >= len(allow) && a.DialString()[:len(allow)] == allow)
	// Output: +1613 +16137637582 true
}
