-- Undoes 0108: adopt's progress and quarantine. The quarantined rows are lost with it: export
-- them first (SELECT source_row FROM jarvis.adopt_quarantine) if anyone still needs them.
-- squawk-ignore-file ban-drop-table -- a down file removes what its up file created
SET LOCAL ROLE jarvis_owner;
DROP TABLE jarvis.adopt_deferred_indexes;
DROP TABLE jarvis.adopt_quarantine;
DROP TABLE jarvis.adopt_progress;
