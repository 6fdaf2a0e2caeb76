"""Print the schema's SDL: `python -m service.app.export > graphql/schema.graphql`."""

import sys

from service.app.schema import export_sdl

sys.stdout.write(export_sdl())
