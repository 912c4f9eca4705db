"""sod.formats"""
