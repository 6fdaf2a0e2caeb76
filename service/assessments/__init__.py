"""Assessment snapshots (OASys, LA needs assessment, pathway-plan review, immediate-needs screen) with need per
resettlement pathway."""
