// Package calendar counts working days on the Chinese public-holiday
// calendar. Holidays and make-up working days (调休) change every year, so
// they are data, never code: the State Council's notices come from the Go
// module github.com/6tail/lunar-go (updating that one dependency brings the
// next year), and an operator's file (Parse) adds a year it lacks or replaces
// one it has.
package calendar

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// Calendar knows which days are working days in the years it covers.
type Calendar struct {
	years    map[int]bool
	holidays map[string]string // date → name
	workdays map[string]string // weekend date → name
}

// China returns the calendar of the State Council's holiday notices as
// github.com/6tail/lunar-go carries them (HolidayUtil): every year whose
// notice it holds, from 2002 on. A calendar is never modified after it is
// built, so all callers share one.
func China() *Calendar { return china() }

var china = sync.OnceValue(func() *Calendar {
	c := &Calendar{years: map[int]bool{}, holidays: map[string]string{}, workdays: map[string]string{}}
	type entry struct {
		day  string
		name string
		work bool
	}
	var entries []entry
	// Each notice covers one year: its entries name a festival of that year
	// (the target), though a make-up day may fall in the December before. The
	// data start on 2001-12-29 (the first notice is for 2002) and run without
	// a gap to the latest notice, so stop at the first year with no entry.
	for y := 2001; ; y++ {
		l := HolidayUtil.GetHolidaysByYear(y)
		if l.Len() == 0 {
			break
		}
		for e := l.Front(); e != nil; e = e.Next() {
			h := e.Value.(*HolidayUtil.Holiday)
			c.years[yearOf(h.GetTarget())] = true
			entries = append(entries, entry{h.GetDay(), h.GetName(), h.IsWork()})
		}
	}
	for _, e := range entries {
		if !c.years[yearOf(e.day)] {
			continue // 2001-12-29/30, make-up days of the 2002 notice: 2001 has none of its own
		}
		if e.work {
			// A few entries mark a Monday to Friday as a working day
			// (2012-05-02, 2012-10-08): it is one anyway, and Parse
			// refuses such lines, so the calendar holds only weekend ones.
			if d, err := time.Parse(time.DateOnly, e.day); err == nil && d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
				continue
			}
			c.workdays[e.day] = e.name + "调休"
		} else {
			c.holidays[e.day] = e.name
		}
	}
	return c
})

// Parse reads an operator's calendar file, one entry a line ("#" starts a
// comment line):
//
//	year YYYY                          the following entries cover this whole year
//	YYYY-MM-DD[..YYYY-MM-DD] holiday NAME   days off (weekends inside are off anyway)
//	YYYY-MM-DD workday NAME            a weekend day that is a working day
//
// Every other Monday to Friday of a declared year is a working day, every
// other Saturday and Sunday is not. A year with no "year" line is refused,
// never guessed (testdata/cn-2024-2026.txt is an example).
func Parse(r io.Reader) (*Calendar, error) {
	c := &Calendar{years: map[int]bool{}, holidays: map[string]string{}, workdays: map[string]string{}}
	sc := bufio.NewScanner(r)
	line := 0
	year := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if fields[0] == "year" {
			if len(fields) != 2 {
				return nil, fmt.Errorf("line %d: want \"year YYYY\"", line)
			}
			if _, err := fmt.Sscanf(fields[1], "%d", &year); err != nil || year < 1949 || year > 9999 {
				return nil, fmt.Errorf("line %d: bad year %q", line, fields[1])
			}
			c.years[year] = true
			continue
		}
		if len(fields) < 2 {
			return nil, fmt.Errorf("line %d: want \"DATE[..DATE] holiday|workday NAME\"", line)
		}
		name := strings.Join(fields[2:], " ")
		from, to, err := parseRange(fields[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if from.Year() != year || to.Year() != year {
			return nil, fmt.Errorf("line %d: %s is not inside the year %d declared above it", line, fields[0], year)
		}
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			key := d.Format(time.DateOnly)
			switch fields[1] {
			case "holiday":
				c.holidays[key] = name
			case "workday":
				if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
					return nil, fmt.Errorf("line %d: %s is a %s, already a working day", line, key, wd)
				}
				c.workdays[key] = name
			default:
				return nil, fmt.Errorf("line %d: kind %q is neither holiday nor workday", line, fields[1])
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for d := range c.workdays {
		if _, clash := c.holidays[d]; clash {
			return nil, fmt.Errorf("%s is both a holiday and a working day", d)
		}
	}
	return c, nil
}

// With returns a calendar of c's years and other's; a year both cover is
// taken whole from other. An operator adds next year's notice (or corrects
// one) in a file of their own without waiting for a new release; c and other
// are left as they were.
func (c *Calendar) With(other *Calendar) *Calendar {
	out := &Calendar{years: map[int]bool{}, holidays: map[string]string{}, workdays: map[string]string{}}
	for _, src := range []*Calendar{c, other} {
		for y := range src.years {
			out.years[y] = true
			for _, m := range []map[string]string{out.holidays, out.workdays} {
				for d := range m {
					if yearOf(d) == y {
						delete(m, d)
					}
				}
			}
		}
		for d, name := range src.holidays {
			out.holidays[d] = name
		}
		for d, name := range src.workdays {
			out.workdays[d] = name
		}
	}
	return out
}

// Years lists the years the calendar covers, in order.
func (c *Calendar) Years() []int {
	out := make([]int, 0, len(c.years))
	for y := range c.years {
		out = append(out, y)
	}
	slices.Sort(out)
	return out
}

func yearOf(date string) int {
	y := 0
	fmt.Sscanf(date[:4], "%d", &y)
	return y
}

func parseRange(s string) (from, to time.Time, err error) {
	a, b, isRange := strings.Cut(s, "..")
	if from, err = time.Parse(time.DateOnly, a); err != nil {
		return from, to, fmt.Errorf("bad date %q", a)
	}
	to = from
	if isRange {
		if to, err = time.Parse(time.DateOnly, b); err != nil {
			return from, to, fmt.Errorf("bad date %q", b)
		}
		if to.Before(from) {
			return from, to, fmt.Errorf("range %s ends before it starts", s)
		}
	}
	return from, to, nil
}

// ErrYearNotCovered is returned for a day in a year the calendar has no data for.
type ErrYearNotCovered struct{ Year int }

func (e *ErrYearNotCovered) Error() string {
	return fmt.Sprintf("the working-day calendar has no data for %d; add that year's holidays to the calendar file", e.Year)
}

// IsWorkingDay reports whether the civil date of t (in t's location) is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) (bool, error) {
	if !c.years[t.Year()] {
		return false, &ErrYearNotCovered{Year: t.Year()}
	}
	key := t.Format(time.DateOnly)
	if _, ok := c.holidays[key]; ok {
		return false, nil
	}
	if _, ok := c.workdays[key]; ok {
		return true, nil
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday, nil
}

// AddWorkingDays returns the end of the n-th working day after the day of t
// (the day of t itself does not count): the deadline for something due
// "within n working days" of t. The result is 23:59:59.999999999 of that day
// in t's location.
func (c *Calendar) AddWorkingDays(t time.Time, n int) (time.Time, error) {
	if n < 0 {
		return time.Time{}, fmt.Errorf("negative working days %d", n)
	}
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		ok, err := c.IsWorkingDay(d)
		if err != nil {
			return time.Time{}, err
		}
		if ok {
			n--
		}
	}
	return d.Add(24*time.Hour - time.Nanosecond), nil
}

// Shanghai is the default time zone for deadlines. The tz database is
// embedded in the binary (time/tzdata), so a bare machine has it too.
func Shanghai() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}
