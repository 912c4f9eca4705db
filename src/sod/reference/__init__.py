"""sod.reference"""
