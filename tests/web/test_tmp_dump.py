from sqlalchemy import text
def test_dump(two_districts, world, signed_in, db):
    c = signed_in("malee", "department")
    with db.connect() as conn:
        sid = conn.execute(text("SELECT id FROM submissions WHERE instance_id = :id"), {"id": two_districts["mine"].survey_instance_id}).scalar_one()
    html = c.get(f"/submissions/{sid}").get_data(as_text=True)
    open("/tmp/survey.html", "w").write(html)
    open("/tmp/flagged.html", "w").write(c.get(f"/submissions/{world.flagged}").get_data(as_text=True))
    open("/tmp/plot.html", "w").write(c.get(f"/plots/{two_districts['mine'].uuid}").get_data(as_text=True))
    r = c.get(f"/v1/projects/1/plots/{two_districts['mine'].uuid}/checks")
    open("/tmp/plotchecks.json", "w").write(r.get_data(as_text=True))
