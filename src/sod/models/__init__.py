"""sod.models"""
