package calendar

import (
	"testing"
	"time"
)

// What lunar-go gives obeys the rules an operator's file is held to
// (Parse): a make-up working day is a Saturday or a Sunday, no day is both
// off and a make-up day, and every entry lies in a year the calendar covers.
func TestChina_DataAsParseWouldHaveThem(t *testing.T) {
	c := China()
	if len(c.holidays) == 0 || len(c.workdays) == 0 {
		t.Fatalf("%d holidays, %d make-up days", len(c.holidays), len(c.workdays))
	}
	for _, m := range []map[string]string{c.holidays, c.workdays} {
		for d, name := range m {
			if _, err := time.Parse(time.DateOnly, d); err != nil || name == "" {
				t.Errorf("entry %q %q", d, name)
			}
			if !c.years[yearOf(d)] {
				t.Errorf("%s %s: outside the years covered", d, name)
			}
		}
	}
	for d, name := range c.workdays {
		day, _ := time.Parse(time.DateOnly, d)
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			t.Errorf("%s %s: make-up day on a %s", d, name, wd)
		}
		if _, clash := c.holidays[d]; clash {
			t.Errorf("%s: both a holiday and a working day", d)
		}
	}
}
