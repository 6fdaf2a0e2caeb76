"""Alembic environment shared by both streams. The platform always hands us a connection already inside the
transaction it owns (see tenants/migrations.py); we never open one of our own."""

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations with `always-hope migrate`, which supplies the connection and the schema.")

context.configure(
    connection=connection,
    version_table_schema=config.attributes["schema"],
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
