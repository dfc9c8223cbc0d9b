package pages

import "stratus/models"

// InstanceConsoleProps is an instance's Console or Console log tab.
type InstanceConsoleProps struct {
	Inst models.Instance
	Tab  string // "console" or "console-log"
	Here string // this page's URI (what the console log polls)

	// Console log tab.
	Log   string
	Lines int // how many lines are shown (0: all that is kept)

	// Console tab: the websocket path with a fresh single-use token ("" when
	// the instance is not running), and the noVNC client script.
	VNCURL    string
	ScriptURL string
	Problem   string // why there is no console now
}

// ConsoleLogLines are the choices of how much of the console log to show.
var ConsoleLogLines = []int{50, 200, 1000, 0}
