"""Stories: different outlets' own articles about one event, grouped online as they arrive.

``vectors`` turns an article into weighted terms and entities; ``window`` says how close in time
an article must be to a story; ``index`` is the durable state in Postgres (schema ``enrich``);
``assigner`` decides, for a batch, which story each article joins or starts, inside the same
locked transaction as reprint detection so every replica decides as one would.
"""
