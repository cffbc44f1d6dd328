//go:build race

package storagepebble

// raceEnabled shortens the slowest randomized tests under the race
// detector, which makes them about fifteen times slower.
const raceEnabled = true
