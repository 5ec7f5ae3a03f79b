"""The marketing console at /marketing: server-rendered pages for marketing (and admin) to list
campaigns, activate and pause them, and read each report as charts (docs/campaigns.md)."""
