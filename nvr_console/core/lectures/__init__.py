"""Lectures from each room's timetable.

timetable_fetch reads a calendar (ICS over http(s), a local .ics file, a CalDAV collection); timetable_parse
turns it into lecture occurrences (recurrences expanded, time zones and daylight saving kept);
timetable_store keeps each room's calendar and its last good copy; lecture_store is the one owner of
lecture rows and their states; refresh ties those together every `calendar.refresh`.
"""
