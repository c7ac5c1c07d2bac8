DROP TABLE IF EXISTS timeline_gaps;
