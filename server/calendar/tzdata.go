package calendar

// Embed the time zone database: deadlines are counted in Asia/Shanghai, and a
// bare machine or a minimal container may have no zoneinfo files.
import _ "time/tzdata"
