"""sod.arch"""
