//go:build race

package profile

// raceEnabled widens the time budgets of the hostile-input tests: the race
// detector slows the parser five to twenty times.
const raceEnabled = true
