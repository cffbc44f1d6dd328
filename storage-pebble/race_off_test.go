//go:build !race

package storagepebble

const raceEnabled = false
