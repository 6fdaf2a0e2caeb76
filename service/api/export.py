"""Print the schema's SDL: `python -m service.api.export > graphql/schema.graphql`."""

import sys

from service.api.schema import export_sdl

sys.stdout.write(export_sdl())
