package main

import (
	"errors"
	"flag"
)

// parseInterspersed parses args with fs, taking flags before, between and
// after the operands (the flag package alone stops at the first operand);
// "--" ends the flags, everything after it is an operand even when it
// starts with "-". It returns the operands, or ok false and the exit
// status: 0 for -h/--help (fs printed the usage), 2 for a bad flag.
func parseInterspersed(fs *flag.FlagSet, args []string) (operands []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return operands, 0, true
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(operands, rest...), 0, true
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
}
