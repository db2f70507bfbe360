"""Quality control: agreement, consensus, gold accuracy, flags and review.

`agreement`, `consensus` and `flags` are pure functions over plain arrays and records (no Django);
`tables` reads the database into those plain tables; `report` and `review` are the services and
selectors the API uses.
"""
