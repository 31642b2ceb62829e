package calendar_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/calendar"
)

func day(s string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, s, calendar.Shanghai())
	if err != nil {
		panic(err)
	}
	return t
}

func TestChina_IsWorkingDay(t *testing.T) {
	c := calendar.China()
	for _, tt := range []struct {
		date string
		want bool
	}{
		{"2025-10-08", false}, // National Day and Mid-Autumn, a Wednesday
		{"2025-09-28", true},  // Sunday, make-up working day
		{"2025-10-11", true},  // Saturday, make-up working day
		{"2025-10-12", false}, // plain Sunday
		{"2025-10-09", true},  // plain Thursday
		{"2026-02-14", true},  // Saturday before the Spring Festival, make-up
		{"2026-02-16", false}, // Spring Festival, a Monday
		{"2024-02-18", true},  // Sunday, make-up
	} {
		got, err := c.IsWorkingDay(day(tt.date))
		if err != nil || got != tt.want {
			t.Errorf("%s: %v, %v; want %v", tt.date, got, err, tt.want)
		}
	}
}

func TestChina_AddWorkingDays(t *testing.T) {
	c := calendar.China()
	for _, tt := range []struct {
		from string
		n    int
		want string
	}{
		{"2025-09-26", 1, "2025-09-28"}, // Friday → the make-up Sunday
		{"2025-09-30", 1, "2025-10-09"}, // over the eight-day holiday
		{"2025-10-09", 3, "2025-10-13"}, // Thu → Fri, Sat (make-up), Mon
		{"2026-11-25", 20, "2026-12-23"},
		{"2026-11-25", 0, "2026-11-25"},
	} {
		got, err := c.AddWorkingDays(day(tt.from).Add(15*time.Hour), tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if got.Format(time.DateOnly) != tt.want || got.Hour() != 23 {
			t.Errorf("%s + %d working days = %s, want end of %s", tt.from, tt.n, got, tt.want)
		}
	}
}

// A day after the last year the calendar covers is refused with that year
// named, never guessed; so is one far beyond it.
func TestCalendar_ErrYearNotCovered(t *testing.T) {
	years := calendar.China().Years()
	last := years[len(years)-1]
	_, err := calendar.China().AddWorkingDays(day(fmt.Sprintf("%d-12-20", last)), 20)
	var e *calendar.ErrYearNotCovered
	if !errors.As(err, &e) || e.Year != last+1 {
		t.Fatalf("err %v, want the uncovered year %d", err, last+1)
	}
	if _, err := calendar.China().IsWorkingDay(day("2031-03-03")); !errors.As(err, &e) || e.Year != 2031 {
		t.Fatalf("2031: err %v, want the uncovered year 2031", err)
	}
	if _, err := calendar.China().IsWorkingDay(day("2001-06-01")); !errors.As(err, &e) || e.Year != 2001 {
		t.Fatalf("2001: err %v, want the uncovered year 2001 (the notices start with 2002)", err)
	}
}

func TestParse_Errors(t *testing.T) {
	for _, bad := range []string{
		"2025-01-01 holiday 元旦",           // no year line
		"year 2025\n2025-01-06 workday x", // a Monday is already a working day
		"year 2025\n2024-12-31 holiday x", // outside the declared year
		"year 2025\n2025-13-01 holiday x", // bad date
		"year 2025\n2025-01-05..2025-01-01 holiday x",
		"year 2025\n2025-01-04 vacation x",
	} {
		if _, err := calendar.Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// A file of the operator's adds a year and replaces years the shipped data
// have, lunar-go's 2027 among them.
func TestCalendar_With(t *testing.T) {
	extra, err := calendar.Parse(strings.NewReader(`
year 2026
2026-03-02 holiday 测试假日
year 2027
2027-01-01 holiday 元旦
2027-01-09 workday 调休
year 2031
2031-01-01 holiday 元旦
2031-01-04 workday 调休
`))
	if err != nil {
		t.Fatal(err)
	}
	c := calendar.China().With(extra)
	want := append(slices.Clone(calendar.China().Years()), 2031)
	if got := c.Years(); !slices.Equal(got, want) {
		t.Fatalf("years %v, want %v", got, want)
	}
	for _, tt := range []struct {
		day  string
		want bool
	}{
		{"2027-01-01", false}, // the file's holiday
		{"2027-01-04", true},  // an ordinary Monday
		{"2027-01-09", true},  // the file's make-up Saturday
		{"2027-02-08", true},  // lunar-go's 春节 2027 is gone: the file's 2027 replaced it whole
		{"2027-01-31", false}, // and so is its make-up Sunday
		{"2026-03-02", false}, // the file's 2026 holiday
		{"2026-02-16", true},  // shipped 春节 2026 is gone: the file's 2026 replaced it whole
		{"2025-10-01", false}, // other shipped years stay
		{"2031-01-01", false}, // the year the file adds
		{"2031-01-04", true},  // a Saturday, the file's make-up day
		{"2031-01-06", true},  // an ordinary Monday
	} {
		got, err := c.IsWorkingDay(day(tt.day))
		if err != nil || got != tt.want {
			t.Errorf("%s: working day %v, %v; want %v", tt.day, got, err, tt.want)
		}
	}
	if _, err := calendar.China().IsWorkingDay(day("2031-01-06")); err == nil {
		t.Fatal("With changed the calendar it was called on")
	}
	if ok, err := calendar.China().IsWorkingDay(day("2027-02-08")); err != nil || ok {
		t.Fatalf("With changed the calendar it was called on: 2027-02-08 working day %v, %v", ok, err)
	}
}

// The default calendar covers every year of lunar-go's notices, 2002 to at
// least 2027 (v1.4.7), without a gap.
func TestChina_Years(t *testing.T) {
	years := calendar.China().Years()
	if len(years) == 0 || years[0] != 2002 || years[len(years)-1] < 2027 {
		t.Fatalf("years %v, want 2002 through at least 2027", years)
	}
	for i, y := range years {
		if y != 2002+i {
			t.Fatalf("years %v: a gap before %d", years, y)
		}
	}
}

// 2027's Spring Festival, as the State Council announced it: off Friday 2027-02-05 to
// Saturday 02-13, with Sunday 01-31 and Sunday 02-14 working days.
func TestChina_SpringFestival2027(t *testing.T) {
	c := calendar.China()
	for d := day("2027-02-05"); !d.After(day("2027-02-13")); d = d.AddDate(0, 0, 1) {
		if ok, err := c.IsWorkingDay(d); err != nil || ok {
			t.Errorf("%s: working day %v, %v; want a day off", d.Format(time.DateOnly), ok, err)
		}
	}
	for _, tt := range []struct {
		date string
		want bool
	}{
		{"2027-01-30", false}, // plain Saturday
		{"2027-01-31", true},  // Sunday, make-up
		{"2027-02-04", true},  // Thursday before the holiday
		{"2027-02-14", true},  // Sunday, make-up
		{"2027-02-15", true},  // Monday after
		{"2027-02-20", false}, // plain Saturday
	} {
		if ok, err := c.IsWorkingDay(day(tt.date)); err != nil || ok != tt.want {
			t.Errorf("%s: working day %v, %v; want %v", tt.date, ok, err, tt.want)
		}
	}
	for _, tt := range []struct {
		from string
		n    int
		want string
	}{
		{"2027-01-29", 1, "2027-01-31"}, // Friday → the make-up Sunday
		{"2027-02-04", 1, "2027-02-14"}, // over the nine days off → the make-up Sunday
		{"2027-02-04", 2, "2027-02-15"},
		{"2027-02-04", 3, "2027-02-16"},
	} {
		got, err := c.AddWorkingDays(day(tt.from).Add(10*time.Hour), tt.n)
		if err != nil || got.Format(time.DateOnly) != tt.want {
			t.Errorf("%s + %d working days = %s, %v; want %s", tt.from, tt.n, got, err, tt.want)
		}
	}
}

// A deadline counted across 2026-12-31 runs on into 2027 and over its New
// Year holiday (off Friday 01-01 to Sunday 01-03).
func TestChina_AddWorkingDaysAcrossTheYear(t *testing.T) {
	c := calendar.China()
	for _, tt := range []struct {
		from string
		n    int
		want string
	}{
		{"2026-12-30", 1, "2026-12-31"},
		{"2026-12-30", 3, "2027-01-05"},  // Thu 31, (Fri 1 – Sun 3 off), Mon 4, Tue 5
		{"2026-12-31", 1, "2027-01-04"},  // the confirmation deadline of a draw on New Year's Eve
		{"2026-12-20", 20, "2027-01-18"}, // 9 days in December, 11 in January
	} {
		got, err := c.AddWorkingDays(day(tt.from).Add(15*time.Hour), tt.n)
		if err != nil {
			t.Fatalf("%s + %d: %v", tt.from, tt.n, err)
		}
		if got.Format(time.DateOnly) != tt.want || got.Hour() != 23 {
			t.Errorf("%s + %d working days = %s, want end of %s", tt.from, tt.n, got, tt.want)
		}
	}
}

// lunar-go's data agree, day by day, with the notices for 2024–2026 as they
// were transcribed by hand into the calendar spotcheck shipped before.
func TestChina_AgreesWithTheTranscribedNotices(t *testing.T) {
	f, err := os.Open("testdata/cn-2024-2026.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := calendar.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := want.Years(); !slices.Equal(got, []int{2024, 2025, 2026}) {
		t.Fatalf("fixture years %v", got)
	}
	c := calendar.China()
	for d := day("2024-01-01"); d.Year() <= 2026; d = d.AddDate(0, 0, 1) {
		w, err := want.IsWorkingDay(d)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.IsWorkingDay(d); err != nil || got != w {
			t.Errorf("%s: lunar-go says working day %v (%v), the notice %v", d.Format(time.DateOnly), got, err, w)
		}
	}
}
