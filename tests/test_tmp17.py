import asyncpg
from sqlalchemy import make_url
from service.rules.repository import FACTS, governing
from service.reporting.compute import family_sql
from service.reporting.catalogue import Family

async def test_sql(make_tenant, db):
    t = await make_tenant()
    conn = await asyncpg.connect(make_url(db.admin_url).set(drivername="postgresql").render_as_string(False))
    await conn.execute(f'SET search_path TO "{t.schema}"')
    for name, sql in [("facts", FACTS), ("gov", f"WITH g AS ({governing('$2::date', 'e.young_adult_id = ANY($1::uuid[])')}) SELECT young_adult_id, site_code FROM g")] + [(f.name, family_sql(f)) for f in Family]:
        try:
            await conn.prepare(sql)
        except Exception as e:
            print(name, type(e).__name__, e)
    await conn.close()
