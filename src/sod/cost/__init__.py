"""sod.cost"""
