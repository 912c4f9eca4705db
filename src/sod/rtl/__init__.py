"""sod.rtl"""
