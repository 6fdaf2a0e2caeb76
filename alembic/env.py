"""Alembic environment shared by both streams. The platform always hands us a connection already inside the
transaction it owns (see tenants/migrations.py); we never open one of our own."""

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if context.is_offline_mode():
    # Rendering (tenants.migrations.tenant_script): the statements are written to the config's output
    # buffer as written (the "named" paramstyle doubles no "%"), unqualified, with no transaction of their own; the
    # caller runs them inside its transaction.
    context.configure(dialect_name="postgresql", dialect_opts={"paramstyle": "named"},
                      output_buffer=config.output_buffer, transactional_ddl=False, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif connection is None:
    raise SystemExit("Run migrations with `always-hope migrate`, which supplies the connection and the schema.")
else:
    context.configure(
        connection=connection,
        version_table_schema=config.attributes["schema"],
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()
