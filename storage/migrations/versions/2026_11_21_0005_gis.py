"""GIS: the schema ``forms`` with its safe casts and the ``forms.plots`` layer; indexes for map queries.

The views of each form are made by ``storage/gis_views.py`` when a form version is published; this migration
makes them for the forms published before it.
"""

from alembic import op

revision = "20261121_0005"
down_revision = "20261121_0004"

# Casts from the text of an answer that give NULL instead of an error for a value that does not read.
CASTS = """
CREATE FUNCTION forms.to_bigint(v text) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN v ~ '^\\s*[-+]?[0-9]{1,18}\\s*$' THEN v::bigint END $$;

CREATE FUNCTION forms.to_numeric(v text) RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN v ~ '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]{1,3})?\\s*$' THEN v::numeric END $$;

CREATE FUNCTION forms.to_boolean(v text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE lower(btrim(v)) WHEN 'yes' THEN true WHEN 'true' THEN true WHEN '1' THEN true
                              WHEN 'no' THEN false WHEN 'false' THEN false WHEN '0' THEN false END $$;

CREATE FUNCTION forms.to_choices(v text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN btrim(v) <> '' THEN regexp_split_to_array(btrim(v), '\\s+') END $$;

CREATE FUNCTION forms.to_date(v text) RETURNS date LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS
$$ BEGIN
  IF v IS NULL OR v !~ '^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}' THEN RETURN NULL; END IF;
  BEGIN RETURN left(btrim(v), 10)::date; EXCEPTION WHEN others THEN RETURN NULL; END;
END $$;

CREATE FUNCTION forms.to_timestamptz(v text) RETURNS timestamptz LANGUAGE plpgsql STABLE PARALLEL SAFE AS
$$ BEGIN
  IF v IS NULL OR v !~ '^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}' THEN RETURN NULL; END IF;
  BEGIN RETURN v::timestamptz; EXCEPTION WHEN others THEN RETURN NULL; END;
END $$;
"""

PLOTS = """
CREATE VIEW forms.plots AS
SELECT p.entity_id, p.project_id, p.uuid, p.label,
       p.properties->>'programme' AS programme, p.properties->>'model' AS model,
       p.properties->>'size_class' AS size_class,
       p.properties->>'owner_name' AS owner_name, p.properties->>'owner_phone' AS owner_phone,
       p.properties->>'house_no' AS house_no, p.properties->>'village_no' AS village_no,
       p.properties->>'village_name' AS village_name,
       p.properties->>'province' AS province, p.properties->>'amphoe' AS amphoe,
       p.properties->>'tambon' AS tambon, p.area_code,
       p.version, p.created_at AS registered_at, p.updated_at,
       b.boundary,
       round(ST_Area(b.boundary::geography)::numeric, 1) AS area_m2,
       round((ST_Area(b.boundary::geography) / 1600)::numeric, 3) AS area_rai,
       c.checks,
       CASE WHEN c.checks IS NULL THEN 'not_checked' WHEN c.failed = 0 THEN 'ok' ELSE 'problems' END AS check_status,
       coalesce(c.failed, 0) AS checks_failed,
       visit.received_at AS last_visit_at, visit.xml_form_id AS last_visit_form
FROM plots p
CROSS JOIN LATERAL (
    SELECT (CASE WHEN ST_GeometryType(p.boundary) = 'ST_Polygon'
                 THEN ST_Force2D(p.boundary) END)::geometry(Polygon, 4326) AS boundary
) b
LEFT JOIN LATERAL (
    SELECT jsonb_object_agg(r.rule, r.status) AS checks,
           count(*) FILTER (WHERE r.status NOT IN ('ok', 'warning'))::int AS failed
    FROM check_results r WHERE r.subject = 'plot' AND r.entity_id = p.entity_id
    HAVING count(*) > 0
) c ON true
LEFT JOIN LATERAL (
    SELECT s.created_at AS received_at, f.xml_form_id
    FROM submission_versions sv JOIN submissions s ON s.id = sv.submission_id JOIN forms f ON f.id = s.form_id
    WHERE sv.current AND lower(sv.data->>'plot') = p.uuid AND f.project_id = p.project_id
    ORDER BY s.created_at DESC LIMIT 1
) visit ON true
"""


def upgrade() -> None:
    op.execute("CREATE SCHEMA forms")
    op.execute("COMMENT ON SCHEMA forms IS 'Typed views of every form and the plot register, for GIS and exports'")
    op.execute(CASTS)
    op.execute(PLOTS)
    op.execute(
        "COMMENT ON VIEW forms.plots IS 'The plot register: latest boundary (Polygon 4326), size class, measured "
        "area (m², rai), check status, last visit'"
    )
    for geo_type, shape in (("geopoint", "Point"), ("geotrace", "LineString"), ("geoshape", "Polygon")):
        op.execute(
            f"CREATE INDEX ix_submission_geometries_{geo_type}_2d ON submission_geometries USING gist"
            f" ((ST_Force2D(geom)::geometry({shape}, 4326))) WHERE geo_type = '{geo_type}' AND geom IS NOT NULL"
        )
    op.execute("CREATE INDEX ix_submission_versions_plot ON submission_versions ((lower(data->>'plot'))) WHERE current")
    from khoknongna.storage.gis_views import refresh_all_form_views

    refresh_all_form_views(op.get_bind())


def downgrade() -> None:
    op.execute("DROP INDEX ix_submission_versions_plot")
    for geo_type in ("geopoint", "geotrace", "geoshape"):
        op.execute(f"DROP INDEX ix_submission_geometries_{geo_type}_2d")
    op.execute("DROP SCHEMA forms CASCADE")
