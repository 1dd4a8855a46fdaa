-- A multidisciplinary consultation may invite a department of an upward
-- partner hospital: its care links (one per invited institution besides the
-- hub) end with the case, like the hub's.
ALTER TABLE consultations ADD COLUMN extra_link_ids TEXT NOT NULL DEFAULT '';
