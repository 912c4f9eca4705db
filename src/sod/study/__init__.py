"""sod.study"""
