package telephony

// Admission is one SMTP transaction as the gateway sees it, from MAIL to
// the end of the message: who asks (Caller), and the numbers Gateway.Admit
// has admitted so far. The milter makes one per transaction and passes it
// to every Admit and to HandOff (Message.Admission), then calls Close.
// It dedupes the recipients by normalised number (twelve spellings of one
// number are one call), caps the distinct numbers per message
// (Options.MaxCallsPerMessage) and holds their rate-limit counts until
// HandOff places them or Close gives them back. An Admission is used by
// one goroutine at a time.
type Admission struct {
	// QueueID is the MTA's queue ID, for logs.
	QueueID string
	Caller
	numbers []string          // distinct normalised numbers admitted, in order
	known   map[string]bool   // the same numbers, for has: O(1) per Admit whatever max_calls_per_message is
	byRcpt  map[string]string // recipient as given to Admit → its number
	held    map[string][]rateKey
	book    *rateBook
}

// admitted returns the number rcpt was admitted with.
func (a *Admission) admitted(rcpt string) (string, bool) {
	n, ok := a.byRcpt[rcpt]
	return n, ok
}

// has reports whether number is already admitted.
func (a *Admission) has(number string) bool { return a.known[number] }

// add records rcpt under number; a new number comes with the rate-limit
// counts held for it.
func (a *Admission) add(rcpt, number string, keys []rateKey, book *rateBook) {
	if a.byRcpt == nil {
		a.byRcpt = map[string]string{}
		a.held = map[string][]rateKey{}
		a.known = map[string]bool{}
	}
	a.byRcpt[rcpt] = number
	if a.has(number) {
		return
	}
	a.known[number] = true
	a.numbers = append(a.numbers, number)
	if book != nil && len(keys) > 0 {
		a.book = book
		a.held[number] = keys
	}
}

// commit counts the calls to numbers as placed (their jobs are durable).
func (a *Admission) commit(numbers []string) {
	if a.book == nil {
		return
	}
	for _, n := range numbers {
		if keys, ok := a.held[n]; ok {
			a.book.commit(keys)
			delete(a.held, n)
		}
	}
}

// Close gives back the rate-limit counts of numbers that were admitted but
// not handed off (the transaction was aborted, refused or tempfailed).
// Calling it more than once is harmless; a nil Admission is fine.
func (a *Admission) Close() {
	if a == nil || a.book == nil {
		return
	}
	for n, keys := range a.held {
		a.book.release(keys)
		delete(a.held, n)
	}
}
